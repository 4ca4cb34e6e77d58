import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and key signed by the local control plane's CA (ca.crt / ca.key in its pki directory). */
export interface Issued {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

async function issue(pkiDir: string, name: string, subject: string, ext: string): Promise<Issued> {
  await writeFile(join(pkiDir, `${name}.ext`), ext);
  await openssl(pkiDir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  await openssl(pkiDir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '7', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  const certFile = join(pkiDir, `${name}.crt`);
  const keyFile = join(pkiDir, `${name}.key`);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/** A client certificate for a control-plane component, e.g. CN=system:kube-scheduler (bootstrap RBAC binds it). */
export function issueClient(pkiDir: string, name: string, user: string, groups: string[] = []): Promise<Issued> {
  const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
  return issue(pkiDir, name, subject,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
}

/** A serving certificate for 127.0.0.1/localhost (webhooks, kwok's kubelet endpoint). */
export function issueServing(pkiDir: string, name: string, cn: string): Promise<Issued> {
  return issue(pkiDir, name, `/CN=${cn}`,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
    'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
}

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
