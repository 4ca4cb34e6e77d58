/**
 * The package's name, version and Node requirement, read from package.json next to src/ or dist/. Imports only
 * node: modules, so the entry point can use it before loading anything that needs a current Node.
 */
import { readFileSync } from 'node:fs';

interface PackageJson {
  name?: string;
  version?: string;
  engines?: { node?: string };
}

let cached: PackageJson | undefined;

function packageJson(): PackageJson {
  cached ??= JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageJson;
  return cached;
}

/** The version in package.json: the CLI's `--version`, the image tag, the chart's appVersion. */
export function packageVersion(): string {
  return packageJson().version ?? 'unknown';
}

/** The lowest Node major the package supports, from `engines.node` (">=24"). */
export function minNodeMajor(): number {
  const m = /^>=\s*(\d+)/.exec(packageJson().engines?.node ?? '');
  return m?.[1] ? Number(m[1]) : 24;
}

/**
 * One line telling what to run instead when `nodeVersion` (process.versions.node) is older than the package
 * needs; undefined when it is new enough.
 */
export function nodeTooOld(nodeVersion: string, execPath: string, script: string | undefined): string | undefined {
  const min = minNodeMajor();
  const major = Number(/^v?(\d+)/.exec(nodeVersion)?.[1] ?? 0);
  if (major >= min) return undefined;
  const target = script ?? 'dist/cli/main.js';
  return (
    `kaiwo-monitor needs Node.js >= ${min}, but ${execPath} is v${nodeVersion.replace(/^v/, '')}; ` +
    `put Node.js ${min} first on PATH, or run: npx -y node@${min} ${target} <command> ...`
  );
}
