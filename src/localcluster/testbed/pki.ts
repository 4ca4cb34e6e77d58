import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issue } from '../certs.js';

/** A certificate and key signed by the local control plane's CA (ca.crt / ca.key in its pki directory). */
export interface Issued {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** Signs `name`.crt/.key with the control plane's CA (the same openssl steps as its own PKI) and reads them. */
async function issued(pkiDir: string, name: string, subject: string, ext: string): Promise<Issued> {
  await issue(pkiDir, name, subject, ext);
  const certFile = join(pkiDir, `${name}.crt`);
  const keyFile = join(pkiDir, `${name}.key`);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/** A client certificate for a control-plane component, e.g. CN=system:kube-scheduler (bootstrap RBAC binds it). */
export function issueClient(pkiDir: string, name: string, user: string, groups: string[] = []): Promise<Issued> {
  const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
  return issued(
    pkiDir,
    name,
    subject,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
}

/** A serving certificate for 127.0.0.1/localhost (webhooks, kwok's kubelet endpoint). */
export function issueServing(pkiDir: string, name: string, cn: string): Promise<Issued> {
  return issued(
    pkiDir,
    name,
    `/CN=${cn}`,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
}

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
