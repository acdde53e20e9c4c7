import { readFileSync } from 'node:fs';

/** The operator's version, from package.json (beside src/ and dist/, and in the image at /app). */
export const operatorVersion: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The operator's image as deploy/ and the chart name it; member pods run it as their start guard. */
export const defaultOperatorImage = `ghcr.io/etcd-operator/etcd-operator:v${operatorVersion}`;
