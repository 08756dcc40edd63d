/**
 * `tenet k8s import` and `tenet k8s verdicts`: Kubernetes policy objects in, Tenet objects or
 * verdicts out. Both are thin: the translation, compilation and judging live in src/core.
 */
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { importKubernetes, planReferencedScopes } from '../../core/k8s/import';
import type { Scope } from '../../core/model/kinds/scope';
import { caseVerdicts, type ConformanceCase } from '../../core/k8s/verdicts';
import { CliError, clientFor } from '../context';
import { nameArg } from '../args';
import { formatData, renderTable } from '../output';
import { readAllStdin } from '../manifests';
import { applyLines, impactText } from '../apply-output';

const MAX_BYTES = 16 * 1024 * 1024;

function readText(file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new CliError(`cannot read ${file}: no such file`, 2);
  }
  if (!stat.isFile()) throw new CliError(`${file} is not a file`, 2);
  if (stat.size > MAX_BYTES) throw new CliError(`${file} is larger than ${MAX_BYTES} bytes`, 2);
  return fs.readFileSync(file, 'utf8');
}

/** The file's text, or stdin's for `-`. */
async function readInput(file: string): Promise<string> {
  if (file !== '-') return readText(file);
  const text = await readAllStdin();
  if (Buffer.byteLength(text) > MAX_BYTES) throw new CliError(`<stdin> is larger than ${MAX_BYTES} bytes`, 2);
  return text;
}

/** Documents of YAML or JSON text; `kind: List` items are flattened. */
function readObjects(text: string, file: string): unknown[] {
  const source = file === '-' ? '<stdin>' : file;
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new CliError(`${source}: ${doc.errors[0].message}`, 2);
    const value: unknown = doc.toJSON();
    if (value === null || value === undefined) continue;
    const list = value as { kind?: string; items?: unknown[] };
    if (list.kind === 'List' && Array.isArray(list.items)) out.push(...list.items);
    else out.push(value);
  }
  return out;
}

export function register(program: Command): void {
  const k8s = program
    .command('k8s')
    .description(
      'Kubernetes NetworkPolicy, ClusterNetworkPolicy (v1alpha2), AdminNetworkPolicy and BaselineAdminNetworkPolicy (v1alpha1) import and verdicts',
    );

  k8s
    .command('import')
    .description('translate Namespaces, Pods and Kubernetes policies into Tenet objects of one tenant, and apply them')
    .requiredOption('-f, --file <path>', 'YAML or JSON file with Kubernetes objects, or - for stdin')
    .requiredOption('--tenant <tenant>', 'the tenant the cluster becomes')
    .option('--network <network>', 'network for imported pods (with --with-endpoints)', 'default')
    .option(
      '--with-endpoints',
      'also emit Endpoint objects for Pods (only printed, never applied: endpoints come from attaching containers)',
    )
    .option('--dry-run', 'ask the controller what would change and which flows would change verdict; change nothing')
    .addOption(new Option('-o, --output <format>', 'print the translated objects instead of applying them').choices(['yaml', 'json']))
    .action(
      async (
        options: { file: string; tenant: string; network: string; withEndpoints?: boolean; dryRun?: boolean; output?: 'yaml' | 'json' },
        command: Command,
      ) => {
        const tenant = nameArg(options.tenant, 'tenant');
        const result = importKubernetes(readObjects(await readInput(options.file), options.file), tenant, {
          network: nameArg(options.network, 'network'),
        });
        if (result.problems.length > 0) throw new CliError(`nothing imported; fix these first:\n  ${result.problems.join('\n  ')}`, 2);
        const objects: unknown[] = [...result.scopes, ...result.policies, ...result.globalPolicies];
        const referencedNames = result.referencedScopes.map((s) => s.metadata.name).join(', ');
        if (options.output) {
          if (options.withEndpoints) objects.push(...result.endpoints);
          process.stdout.write(formatData(objects, options.output));
          // Printing them would make `tenet apply` of this output overwrite their labels.
          if (referencedNames)
            process.stderr.write(
              `scopes named but not defined by a Namespace in the file (not printed; import creates them where missing): ${referencedNames}\n`,
            );
          return;
        }
        const client = clientFor(command);
        // A namespace the file only names keeps the labels it has: created where missing, never written.
        const existing = result.referencedScopes.length > 0 ? (await client.list<Scope>('Scope', { tenant })).items : [];
        const plan = planReferencedScopes(result.referencedScopes, existing);
        const source = options.file === '-' ? 'stdin' : options.file;
        const applied = await client.apply([...plan.create, ...objects], { dryRun: options.dryRun, message: `k8s import of ${source}` });
        // Read like apply's answer: one line per object, then (dry run) the flows whose verdict would change.
        process.stdout.write(applyLines(applied, options.dryRun ?? false));
        process.stdout.write(impactText(applied));
        if (plan.unlabelled.length > 0) {
          process.stderr.write(
            `warning: these scopes exist without the label the imported policies select namespaces by, and were left as they are (import their Namespace to set it): ${plan.unlabelled.join(', ')}\n`,
          );
        }
        if (result.endpoints.length > 0) {
          process.stderr.write(
            `${result.endpoints.length} pods: their labels and scope apply when their containers attach (see --with-endpoints -o yaml)\n`,
          );
        }
      },
    );

  k8s
    .command('verdicts')
    .description('judge a conformance case (see docs/policy.md) in-process: import, compile, explain every probe')
    .requiredOption('--case <file>', 'conformance case JSON file')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default('table'))
    .action((options: { case: string; output: 'json' | 'table' }) => {
      let testCase: ConformanceCase;
      try {
        testCase = JSON.parse(readText(options.case)) as ConformanceCase;
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(`${options.case}: not JSON (${(error as Error).message})`, 2);
      }
      if (!testCase?.universe || !Array.isArray(testCase.universe.pods) || !Array.isArray(testCase.probes)) {
        throw new CliError(`${options.case}: a case needs universe.namespaces, universe.pods, policies and probes`, 2);
      }
      const { verdicts, problems } = caseVerdicts(testCase);
      if (problems.length > 0) throw new CliError(`the case's policies do not import:\n  ${problems.join('\n  ')}`, 2);
      if (options.output === 'json') {
        process.stdout.write(JSON.stringify(verdicts, null, 1) + '\n');
        return;
      }
      process.stdout.write(
        renderTable(
          ['FROM', 'TO', 'PORT', 'VERDICT', 'EGRESS', 'INGRESS'],
          verdicts.map((v) => [
            v.from,
            v.to,
            `${v.protocol.toLowerCase()}/${v.port}`,
            v.allowed ? 'allow' : 'deny',
            v.egress ?? '',
            v.ingress ?? '',
          ]),
        ),
      );
    });
}
