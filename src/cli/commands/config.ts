/**
 * `tenet config view|current-context|get-contexts|use-context|set-context`: the config file of
 * contexts (src/auth/client-config.ts) read and edited like kubectl's kubeconfig. Tokens are
 * redacted in `view` unless --raw; the file is written whole (comments kept), mode 0600, by rename.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML, { isMap, isSeq, type Document } from 'yaml';
import { configPath } from '../../auth/client-config';
import { CliError } from '../context';
import { nameArg } from '../args';

function readDocument(file: string, mustExist: boolean): Document {
  if (!fs.existsSync(file)) {
    if (mustExist) throw new CliError(`config file ${file} does not exist (tenet config set-context NAME --server URL creates it)`);
    return new YAML.Document({ 'current-context': null, contexts: [] });
  }
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new CliError(`${file}: ${doc.errors[0].message.split('\n')[0]}`);
  if (doc.contents === null) return new YAML.Document({ 'current-context': null, contexts: [] });
  if (!isMap(doc.contents)) throw new CliError(`${file}: expected a mapping with contexts`);
  if (doc.get('contexts') === undefined) doc.set('contexts', doc.createNode([]));
  if (!isSeq(doc.get('contexts'))) throw new CliError(`${file}: contexts must be a list`);
  return doc;
}

function contextNames(doc: Document): string[] {
  const contexts = doc.toJS() as { contexts?: { name?: unknown }[] };
  return (contexts.contexts ?? []).map((c) => String(c?.name ?? ''));
}

function writeDocument(file: string, doc: Document): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, doc.toString({ lineWidth: 0 }), { mode: 0o600 });
  fs.renameSync(temporary, file);
}

interface SetContextOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
  caFile?: string;
  current?: boolean;
}

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('show and edit the config file of contexts (TENET_CONFIG, default ~/.config/tenet/config.yaml)');

  config
    .command('view')
    .description('print the config file (tokens redacted unless --raw)')
    .option('--raw', 'show tokens as they are')
    .action((options: { raw?: boolean }) => {
      const file = configPath();
      const doc = readDocument(file, true);
      const data = doc.toJS() as { contexts?: Record<string, unknown>[] };
      if (!options.raw) for (const context of data.contexts ?? []) if (context && context.token !== undefined) context.token = 'REDACTED';
      process.stdout.write(YAML.stringify(data, { lineWidth: 0 }));
    });

  config
    .command('current-context')
    .description('print the name of the current context')
    .action(() => {
      const current = readDocument(configPath(), true).get('current-context');
      if (typeof current !== 'string' || current === '') throw new CliError('current-context is not set');
      process.stdout.write(`${current}\n`);
    });

  config
    .command('get-contexts')
    .description('list the contexts (* marks the current one)')
    .action(() => {
      const doc = readDocument(configPath(), true);
      const current = doc.get('current-context');
      process.stdout.write(
        contextNames(doc)
          .map((name) => `${name === current ? '*' : ' '} ${name}\n`)
          .join(''),
      );
    });

  config
    .command('use-context')
    .description('make NAME the current context')
    .argument('<name>', 'a context of the config file')
    .action((name: string) => {
      const file = configPath();
      const doc = readDocument(file, true);
      if (!contextNames(doc).includes(name))
        throw new CliError(`no context named "${name.slice(0, 63)}" in ${file} (known: ${contextNames(doc).join(', ') || 'none'})`);
      doc.set('current-context', name);
      writeDocument(file, doc);
      process.stdout.write(`switched to context "${name}"\n`);
    });

  config
    .command('set-context')
    .description('create context NAME, or change the fields given (the others stay)')
    .argument('<name>', 'context name')
    .option('--server <urls>', 'controller URL(s), comma-separated')
    .option('--token <token>', 'bearer token (stored in the file; prefer --token-file)')
    .option('--token-file <file>', 'file holding the token (relative paths: to the config file)')
    .option('--ca-file <file>', 'CA certificate of an https controller')
    .option('--current', 'also make it the current context')
    .addHelpText(
      'after',
      '\nExample:\n  tenet config set-context lab --server https://10.0.0.1:7400 --token-file ~/.tenet-token --ca-file ca.crt --current',
    )
    .action((name: string, local: SetContextOptions, command: Command) => {
      nameArg(name, 'context name');
      // --server, --token and --ca-file are also the program's own options, which commander gives them to.
      const options = {
        ...command.optsWithGlobals<SetContextOptions>(),
        ...Object.fromEntries(Object.entries(local).filter(([, v]) => v !== undefined)),
      } as SetContextOptions;
      if (options.token !== undefined && options.tokenFile !== undefined) throw new CliError('give --token or --token-file, not both', 2);
      const file = configPath();
      const doc = readDocument(file, false);
      const contexts = doc.get('contexts') as YAML.YAMLSeq<YAML.YAMLMap>;
      let entry = contexts.items.find((item) => isMap(item) && item.get('name') === name);
      const created = entry === undefined;
      if (!entry) {
        entry = doc.createNode({ name }) as YAML.YAMLMap;
        contexts.items.push(entry);
      }
      if (options.server !== undefined) {
        entry.delete('servers');
        entry.set('server', options.server);
      }
      if (options.token !== undefined) {
        entry.delete('token-file');
        entry.set('token', options.token);
      }
      if (options.tokenFile !== undefined) {
        entry.delete('token');
        entry.set('token-file', options.tokenFile);
      }
      if (options.caFile !== undefined) entry.set('ca-file', options.caFile);
      if (options.current || !doc.get('current-context')) doc.set('current-context', name);
      writeDocument(file, doc);
      process.stdout.write(`context "${name}" ${created ? 'created' : 'modified'}\n`);
    });
}
