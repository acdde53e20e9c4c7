import { describe, expect, it } from 'vitest';
import { describeGroup, flagNamePattern, isOwnedFlag, ownedFlagGroups } from './options.js';

describe('owned etcd flags', () => {
  it.each(['name', 'data-dir', 'listen-client-urls', 'listen-metrics-urls', 'peer-trusted-ca-file', 'initial-cluster', 'discovery-srv', 'client-cert-auth', 'enable-v2', 'enable-grpc-gateway'])(
    'refuses %s',
    (flag) => expect(isOwnedFlag(flag)).toBe(true),
  );

  it.each(['quota-backend-bytes', 'snapshot-count', 'auto-compaction-retention', 'log-level', 'experimental-initial-corrupt-check', 'max-learners'])(
    'leaves %s to the user',
    (flag) => expect(isOwnedFlag(flag)).toBe(false),
  );

  it('names every flag of a group in its message', () => {
    expect(describeGroup(ownedFlagGroups[0]!)).toBe('name, data-dir or wal-dir');
    expect(describeGroup({ flags: ['enable-v2'], prefixes: [], why: '' })).toBe('enable-v2');
    expect(describeGroup({ flags: ['advertise-client-urls'], prefixes: ['listen-'], why: '' })).toBe('advertise-client-urls or listen-*');
  });

  it('takes flag names without dashes', () => {
    const pattern = new RegExp(flagNamePattern);
    expect(['quota-backend-bytes', 'v2', 'a-1'].every((f) => pattern.test(f))).toBe(true);
    expect(['--name', 'Name', 'a--b', 'a_b', '-a', 'a-'].some((f) => pattern.test(f))).toBe(false);
  });
});
