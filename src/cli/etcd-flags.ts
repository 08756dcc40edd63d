/**
 * `tenet controller --etcd-*`: TLS and password auth towards etcd. Files are read here so a missing
 * or unreadable one is a usage error at start-up, and the password never appears on a command line
 * (`ps` shows argv to every user): it comes from a file or from TENET_ETCD_PASSWORD.
 */
import fs from 'node:fs';
import { CliError } from './context';
import { ETCD_USER, isEtcdSpec, type EtcdSecurity } from '../store/etcd-spec';

export interface EtcdFlags {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
}

function readFlagFile(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new CliError(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 2);
  }
}

export function etcdSecurityFrom(flags: EtcdFlags, store: string | undefined, env: NodeJS.ProcessEnv = process.env): EtcdSecurity {
  const any = [flags.etcdCa, flags.etcdCert, flags.etcdKey, flags.etcdUser, flags.etcdPasswordFile].some((v) => v !== undefined);
  if (!any) return {};
  if (store === undefined || !isEtcdSpec(store.trim()))
    throw new CliError('--etcd-ca/--etcd-cert/--etcd-key/--etcd-user need --store etcd://...', 2);
  if ((flags.etcdCert === undefined) !== (flags.etcdKey === undefined)) throw new CliError('--etcd-cert and --etcd-key go together', 2);
  const security: EtcdSecurity = {};
  if (flags.etcdCa !== undefined || flags.etcdCert !== undefined) {
    security.tls = {
      ca: flags.etcdCa !== undefined ? readFlagFile('--etcd-ca', flags.etcdCa) : undefined,
      cert: flags.etcdCert !== undefined ? readFlagFile('--etcd-cert', flags.etcdCert) : undefined,
      key: flags.etcdKey !== undefined ? readFlagFile('--etcd-key', flags.etcdKey) : undefined,
    };
  }
  if (flags.etcdPasswordFile !== undefined && flags.etcdUser === undefined) throw new CliError('--etcd-password-file needs --etcd-user', 2);
  if (flags.etcdUser !== undefined) {
    if (!ETCD_USER.test(flags.etcdUser))
      throw new CliError(`--etcd-user ${JSON.stringify(flags.etcdUser)}: use 1-128 letters, digits, '.', '_', '@' or '-'`, 2);
    let password: string | undefined;
    if (flags.etcdPasswordFile !== undefined)
      password = readFlagFile('--etcd-password-file', flags.etcdPasswordFile)
        .toString('utf8')
        .replace(/\r?\n$/, '');
    else password = env.TENET_ETCD_PASSWORD;
    if (password === undefined || password === '')
      throw new CliError('--etcd-user needs a password: --etcd-password-file FILE or TENET_ETCD_PASSWORD', 2);
    security.auth = { username: flags.etcdUser, password };
  }
  return security;
}
