import { describe, expect, it } from 'vitest';
import { dnsEntries, type Pod, renderHosts, type Service } from '../../agent/hosts.js';

const labels = { app: 'etcd' };
function pod(name: string, ip: string | undefined, ready: boolean, extra: Partial<Pod['spec']> = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', labels },
    spec: { containers: [], hostname: name, subdomain: 'demo-peer', ...extra },
    status: { podIP: ip, phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}
const headless = (publishNotReady: boolean): Service => ({
  metadata: { name: 'demo-peer', namespace: 'ns' },
  spec: { clusterIP: 'None', selector: labels, publishNotReadyAddresses: publishNotReady },
});

describe('cluster DNS as a hosts file', () => {
  it('names each pod of a headless Service by hostname.subdomain.namespace.svc.domain and its search forms', () => {
    const entries = dnsEntries([pod('demo-0', '127.64.0.2', false)], [headless(true)], 'cluster.local');
    expect(renderHosts(entries)).toBe(
      [
        '# Written by the local node agent: cluster DNS for headless Services.',
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        '127.64.0.2\tdemo-0.demo-peer.ns.svc.cluster.local demo-0.demo-peer.ns.svc demo-0.demo-peer.ns demo-0.demo-peer',
        '127.64.0.2\tdemo-peer.ns.svc.cluster.local',
        '',
      ].join('\n'),
    );
  });

  it('publishes not-ready pods only when the Service says so', () => {
    const pods = [pod('demo-0', '127.64.0.2', true), pod('demo-1', '127.64.0.3', false)];
    const names = (svc: Service) => dnsEntries(pods, [svc], 'cluster.local').map((e) => e.names[0]);
    expect(names(headless(false))).toEqual(['demo-0.demo-peer.ns.svc.cluster.local', 'demo-peer.ns.svc.cluster.local']);
    expect(names(headless(true))).toHaveLength(4);
  });

  it('skips pods without an address, without a matching headless Service, or finished', () => {
    const done = pod('demo-2', '127.64.0.4', true);
    done.status!.phase = 'Succeeded';
    const pods = [pod('demo-0', undefined, true), pod('demo-1', '127.64.0.3', true, { subdomain: 'other' }), done];
    expect(dnsEntries(pods, [headless(true)], 'cluster.local')).toEqual([]);
    const clusterIp: Service = { ...headless(true), spec: { ...headless(true).spec, clusterIP: '10.0.0.9' } };
    expect(dnsEntries([pod('demo-0', '127.64.0.2', true)], [clusterIp], 'cluster.local')).toEqual([]);
  });
});
