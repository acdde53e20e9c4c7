import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleCluster } from '../resources/fixtures.js';
import { buildMembershipConfig } from '../resources/membership-config.js';
import { etcdArgs } from '../resources/etcd-args.js';
import { compressionOf, dataPath, hasTrailingDigest, install, stagingPath } from './fetch.js';
import { buildRestoreClaim, buildRestorePod } from './pods.js';

const cluster = sampleCluster({ restore: { backupName: 'nightly' } });
const fetch = { destination: { endpoint: 'https://s3.local', bucket: 'b', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's3' }, caSecretRef: { name: 'ca', key: 'ca.crt' } }, key: 'k.db', sha256: 'a'.repeat(64) };

describe('restore pod', () => {
  const pod = buildRestorePod({ cluster, ordinal: 1, fetch, domain: 'cluster.local', operatorImage: 'op:1' });
  const etcdutl = pod.spec!.initContainers![1]!;

  it('restores with exactly the identity the member will run with', () => {
    const flag = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');
    const membership = buildMembershipConfig(cluster, { state: 'new', ordinals: [0, 1, 2], memberVolumes: {} });
    const member = etcdArgs(cluster, { name: 'main', namespace: 'db' }, 'cluster.local');
    expect(flag(etcdutl.args!, 'initial-cluster')).toBe(membership.data!['initial-cluster']);
    expect(flag(etcdutl.args!, 'initial-cluster-token')).toBe(flag(member, 'initial-cluster-token'));
    expect(flag(etcdutl.args!, 'name')).toBe('main-1');
    expect(flag(etcdutl.args!, 'initial-advertise-peer-urls')).toBe('https://main-1.main-peer.db.svc.cluster.local:2380');
    expect(etcdutl.image).toBe('gcr.io/etcd-development/etcd:v3.6.16');
  });

  it('runs once, on the claim the StatefulSet adopts, owned by the cluster', () => {
    expect(pod.spec!.restartPolicy).toBe('Never');
    expect(pod.spec!.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-main-1' } }]);
    expect(pod.metadata!.ownerReferences![0]).toMatchObject({ kind: 'EtcdCluster', uid: 'uid-1' });
    expect(pod.metadata!.labels!['app.kubernetes.io/component']).toBe('restore');
    expect(buildRestoreClaim(cluster, 1).metadata).toMatchObject({ name: 'data-main-1', annotations: { 'etcd.operator.dev/restore-for': 'uid-1' } });
    // Owned as the retention policy owns the template's claims: Retain, nobody; Delete, the cluster (not as controller).
    expect(buildRestoreClaim(cluster, 1).metadata!.ownerReferences).toBeUndefined();
    const deleting = { ...cluster, spec: { ...cluster.spec, storage: { ...cluster.spec.storage, retentionPolicy: 'Delete' as const } } };
    expect(buildRestoreClaim(deleting, 1).metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'EtcdCluster', uid: 'uid-1', controller: false })]);
  });

  it('gives the fetch step credentials and CA from Secrets, never inline', () => {
    const env = pod.spec!.initContainers![0]!.env!;
    expect(env.map((e) => e.valueFrom?.secretKeyRef?.name)).toEqual(['s3', 's3', 'ca']);
    expect(pod.spec!.initContainers![0]!.args).toContain(`--sha256=${'a'.repeat(64)}`);
  });
});

describe('fetch and install helpers', () => {
  it('tells a trailing digest the way etcdutl does', () => {
    expect(hasTrailingDigest(4096 * 5)).toBe(false);
    expect(hasTrailingDigest(4096 * 5 + 32)).toBe(true);
  });

  it('knows gzip from the backup, the metadata or the name', () => {
    expect(compressionOf('gzip', undefined, undefined, 'k.db')).toBe('gzip');
    expect(compressionOf(undefined, { compression: 'gzip' }, undefined, 'k.db')).toBe('gzip');
    expect(compressionOf(undefined, undefined, undefined, 'k.db.gz')).toBe('gzip');
    expect(compressionOf(undefined, undefined, 'application/octet-stream', 'k.db')).toBe('none');
  });

  it('installs the staging directory once; a second run keeps the data directory', () => {
    const volume = mkdtempSync(join(tmpdir(), 'restore-'));
    mkdirSync(join(stagingPath(volume), 'member', 'wal'), { recursive: true });
    writeFileSync(join(stagingPath(volume), 'member', 'wal', '0.wal'), 'first');
    expect(install(volume)).toBe('installed');
    expect(readFileSync(join(dataPath(volume), 'member', 'wal', '0.wal'), 'utf8')).toBe('first');
    mkdirSync(join(stagingPath(volume), 'member', 'wal'), { recursive: true });
    writeFileSync(join(stagingPath(volume), 'member', 'wal', '0.wal'), 'second');
    expect(install(volume)).toBe('alreadyInstalled');
    expect(readFileSync(join(dataPath(volume), 'member', 'wal', '0.wal'), 'utf8')).toBe('first');
    expect(readdirSync(volume)).toEqual(['data']);
  });
});
