import { describe, expect, it } from 'vitest';
import { parseImage, resolveImage } from '../../agent/images.js';

const built = new Set(['/bin-root/etcd-v3.6.16/etcd', '/bin-root/etcd-v3.5.35/etcd']);
const resolve = (image: string) => resolveImage(image, '/bin-root', (p) => built.has(p));

describe('image to binary mapping', () => {
  it('parses repository and tag, ignoring a digest and registry ports', () => {
    expect(parseImage('gcr.io/etcd-development/etcd:v3.6.16')).toEqual({ repository: 'gcr.io/etcd-development/etcd', tag: 'v3.6.16' });
    expect(parseImage('localhost:5000/etcd')).toEqual({ repository: 'localhost:5000/etcd', tag: undefined });
    expect(parseImage('quay.io/coreos/etcd:v3.5.35@sha256:abc')).toEqual({ repository: 'quay.io/coreos/etcd', tag: 'v3.5.35' });
    expect(parseImage('Bad/Name:v1')).toBeUndefined();
    expect(parseImage('etcd:')).toBeUndefined();
  });

  it('maps etcd release images to the locally built release', () => {
    expect(resolve('gcr.io/etcd-development/etcd:v3.6.16')).toEqual({ ok: true, kind: 'etcd', version: 'v3.6.16', dir: '/bin-root/etcd-v3.6.16' });
    expect(resolve('quay.io/coreos/etcd:v3.5.35')).toEqual({ ok: true, kind: 'etcd', version: 'v3.5.35', dir: '/bin-root/etcd-v3.5.35' });
  });

  it("maps the operator's image to the project's built dist/, and says so when it is not built", () => {
    const app = (image: string, files: string[]) => resolveImage(image, '/bin-root', (p) => files.includes(p), '/repo');
    expect(app('ghcr.io/etcd-operator/etcd-operator:v0.1.0', ['/repo/dist/main.js'])).toEqual({ ok: true, kind: 'operator', version: 'v0.1.0', appDir: '/repo' });
    const unbuilt = app('ghcr.io/etcd-operator/etcd-operator:v0.1.0', []);
    expect(unbuilt.ok).toBe(false);
    if (!unbuilt.ok) expect(unbuilt.message).toContain('npm run build');
    // Without a project to stand for it, the operator's image is like any other foreign image.
    expect(resolve('ghcr.io/etcd-operator/etcd-operator:v0.1.0').ok).toBe(false);
  });

  it.each([
    ['gcr.io/etcd-development/etcd:v9.9.9', 'ErrImagePull', 'not built locally'],
    ['gcr.io/etcd-development/etcd:latest', 'ErrImagePull', 'not an etcd release'],
    ['gcr.io/etcd-development/etcd', 'ErrImagePull', 'not an etcd release'],
    ['docker.io/library/nginx:1.27', 'ErrImagePull', 'only runs etcd images'],
    ['Not An Image', 'InvalidImageName', 'invalid image name'],
  ])('%s is a pull failure (%s)', (image, reason, text) => {
    const r = resolve(image);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.message).toContain(text);
    }
  });
});
