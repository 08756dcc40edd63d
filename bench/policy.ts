/**
 * Policy compiler benchmark.
 *
 *   node dist/bench/policy.js [--endpoints 20000] [--hosts 40] [--groups 1000] [--rules 5000] [--local 2000]
 *     [--lab-groups 50] [--lab-rules 250] [--no-kernel] [--no-lab]
 *
 * One tenant; endpoints spread over hosts, each labelled into one of the groups; one policy per group
 * whose rules admit other groups on TCP ports. Measures the full compile (tenant-wide part + every
 * host's program), per-host program size, the time to compute one endpoint joining (incremental, and by
 * recompile + diff), and — in a bare network namespace — the `nft -f` time of a host program with
 * 2,000 local endpoints and of one join (`kernel`). Then, in a real 2-host `tenet lab` (`kernelLab`,
 * skip with --no-lab): 2,000 containers attached on h1 through its agent, the agent's own enforcer
 * programming them all after a restart with the table deleted, and one more container's join. And
 * (`agentJoinJs`) the agent's table programmer's JavaScript for one join of the lab's tenant, no kernel.
 * Prints JSON and writes bench/results/policy.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as crypto from 'node:crypto';
import { compileTenant, programForHost } from '../src/core/policy/compile';
import { endpointJoin, programForUpdate } from '../src/core/policy/incremental';
import { diffPrograms } from '../src/core/policy/diff';
import { renderOps, renderProgram } from '../src/core/policy/render';
import type { PolicyIntent } from '../src/core/policy/intent';
import type { Endpoint } from '../src/core/model/kinds/endpoint';
import type { Policy } from '../src/core/model/kinds/policy';
import type { NftProgram } from '../src/core/policy/program';
import { run } from '../src/kernel/exec';
import { labClient, labDown, labRun, labUp, startAgent, stopAgent, waitAgent } from '../src/lab/lab';
import { labNetnsPrefix, saveLab, type LabState } from '../src/lab/state';
import { tenantNamespaceName } from '../src/core/dataplane/names';
import { parseTableJson } from '../src/core/policy/readback';
import { addNetns, delNetns, listNetns } from '../src/kernel/ip';
import { AttachClient } from '../src/attach/client';
import { buildHostView } from '../src/core/dataplane/host-view';
import type { TenetObject } from '../src/core/model/object';
import { createPolicyEnforcer } from '../src/agent/policy/enforcer';
import { RouterNamespaces } from '../src/agent/router-namespace';
import { antispoofProducer } from '../src/agent/antispoof';
import { servicesProducer } from '../src/agent/services';
import type { NftDriver } from '../src/agent/nft/table';

const V = 'tenet.dev/v1' as const;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function endpoint(i: number, hosts: number, groups: number): Endpoint {
  return {
    apiVersion: V,
    kind: 'Endpoint',
    metadata: { name: `ep-${i}`, tenant: 'big', labels: { app: `g${i % groups}`, tier: i % 2 ? 'front' : 'back' } },
    spec: { network: 'net', host: `h${i % hosts}`, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    status: { ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hostIfName: `tv${i.toString(16).padStart(12, '0')}` },
  };
}

function world(endpoints: number, hosts: number, groups: number, rules: number): PolicyIntent {
  const perPolicy = Math.max(1, Math.round(rules / groups));
  const policies: Policy[] = [];
  for (let g = 0; g < groups; g++) {
    policies.push({
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: `p${g}`, tenant: 'big' },
      spec: {
        appliesTo: { group: `g${g}` },
        ingress: Array.from({ length: perPolicy }, (_, k) => ({
          action: 'allow' as const,
          from: [{ group: `g${(g + k + 1) % groups}` }],
          ports: [{ protocol: 'TCP' as const, port: k === 0 ? ('http' as const) : 8000 + k }],
        })),
      },
    });
  }
  return {
    tenants: [{ apiVersion: V, kind: 'Tenant', metadata: { name: 'big' }, spec: { defaultPolicy: 'deny' } }],
    scopes: [],
    groups: Array.from({ length: groups }, (_, g) => ({
      apiVersion: V,
      kind: 'Group' as const,
      metadata: { name: `g${g}`, tenant: 'big' },
      spec: { selector: { matchLabels: { app: `g${g}` } } },
    })),
    networks: [{ apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant: 'big' }, spec: { subnets: [{ cidr: '10.0.0.0/8' }] } }],
    policies,
    globalPolicies: [],
    endpoints: Array.from({ length: endpoints }, (_, i) => endpoint(i, hosts, groups)),
  };
}

function size(program: NftProgram): { chains: number; rules: number; sets: number; setElements: number; mapElements: number } {
  return {
    chains: program.chains.length,
    rules: program.chains.reduce((n, c) => n + c.rules.length, 0),
    sets: program.sets.length,
    setElements: program.sets.reduce((n, s) => n + s.elements.length, 0),
    mapElements: program.maps.reduce((n, m) => n + Object.keys(m.elements).length, 0),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function kernel(localEndpoints: number, groups: number): Promise<Record<string, number | string>> {
  // A host with `localEndpoints` local endpoints (all endpoints of the tenant on that one host).
  const intent = world(localEndpoints, 1, groups, groups * 5);
  const compiled = compileTenant(intent, 'big');
  let program = programForHost(compiled, { host: 'h0' });
  const netns = `tpbench${crypto.randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', netns]);
  try {
    const text = renderProgram(program);
    const t0 = performance.now();
    await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: text, timeoutMs: 120000 });
    const fullMs = performance.now() - t0;
    const joins: number[] = [];
    for (let k = 0; k < 5; k++) {
      const newcomer = endpoint(localEndpoints + k, 1, groups);
      // What the agent sends: the diff of the program before and after the join.
      const joined = programForUpdate(program);
      endpointJoin(compiled, joined, newcomer, newcomer.status!.hostIfName!);
      const ops = diffPrograms(program, joined).ops;
      program = joined;
      const t1 = performance.now();
      await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: renderOps(program, ops).join('\n') + '\n' });
      joins.push(performance.now() - t1);
    }
    const t2 = performance.now();
    await run('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'table', 'inet', 'tenet'], { timeoutMs: 120000 });
    const readMs = performance.now() - t2;
    return {
      localEndpoints,
      programLines: text.split('\n').length,
      fullApplyMs: round(fullMs),
      joinApplyMsMedian: round(median(joins)),
      readBackMs: round(readMs),
    };
  } finally {
    await run('ip', ['netns', 'del', netns], { allowFailure: true });
  }
}

async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

async function nftIn(netns: string, args: string[]): Promise<string> {
  return (await run('nsenter', [`--net=/run/netns/${netns}`, 'nft', ...args], { allowFailure: true, timeoutMs: 120000 })).stdout;
}

/** Polls (every ~5 ms) until `check` holds; resolves to the ms since `t0`. */
async function until(what: string, t0: number, check: () => Promise<boolean>, timeoutMs = 180000): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function labObjects(tenant: string, groups: number, rules: number): unknown[] {
  const perPolicy = Math.max(1, Math.round(rules / groups));
  return [
    { apiVersion: V, kind: 'Tenant', metadata: { name: tenant }, spec: { defaultPolicy: 'deny' } },
    { apiVersion: V, kind: 'Network', metadata: { name: 'net', tenant }, spec: { subnets: [{ cidr: '10.64.0.0/16' }] } },
    ...Array.from({ length: groups }, (_, g) => ({
      apiVersion: V,
      kind: 'Group',
      metadata: { name: `g${g}`, tenant },
      spec: { selector: { matchLabels: { app: `g${g}` } } },
    })),
    ...Array.from({ length: groups }, (_, g) => ({
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: `p${g}`, tenant },
      spec: {
        appliesTo: { group: `g${g}` },
        ingress: Array.from({ length: perPolicy }, (_, k) => ({
          action: 'allow',
          from: [{ group: `g${(g + k + 1) % groups}` }],
          ports: [{ protocol: 'TCP', port: 8000 + k }],
        })),
      },
    })),
  ];
}

/**
 * A real 2-host lab with its own controller: `local` containers on h1, each labelled into one of `groups`
 * groups, one policy per group. Measures (a) the agent programming the whole tenant program after a
 * restart with the kernel table deleted, and (b) one more container's join until its address is in the
 * kernel's set. Everything the lab made is removed in finally, also on failure.
 */
async function kernelLab(local: number, groups: number, rules: number): Promise<Record<string, unknown>> {
  const name = `b${crypto.randomBytes(4).toString('hex').slice(0, 7)}`;
  const prefix = labNetnsPrefix(name);
  const tenant = 'bench';
  let state: LabState | undefined;
  try {
    state = await labUp({ name, hosts: 2 });
    const lab = state;
    await labClient(lab).apply(labObjects(tenant, groups, rules));
    const h1 = lab.hosts[0];
    const routerNs = tenantNamespaceName(h1.netnsPrefix, tenant);

    // 2,000 attaches, 8 at a time; each answers only once its policy is in the kernel.
    const tAttach = performance.now();
    const attachMs: number[] = [];
    const made = await pool(local, 8, async (i) => {
      const t = performance.now();
      const c = await labRun(lab, `c${i}`, { host: h1.name, tenant, network: 'net', labels: { app: `g${i % groups}` } });
      attachMs.push(performance.now() - t);
      return c;
    });
    const attachAllMs = performance.now() - tAttach;
    lab.containers.push(...made);
    saveLab(lab);
    const program = kernelSize(await nftIn(routerNs, ['-j', 'list', 'table', 'inet', 'tenet']));
    if (!program) throw new Error(`no table inet tenet in ${routerNs}`);

    // (a) Full program: stop h1's agent, delete the table, start the agent and poll (`nft list tables`,
    // cheap) until the table is back. The enforcer writes a tenant's program in one atomic transaction,
    // so the table appearing means all of it is there (checked against the element counts below; the
    // chain count may differ by spare profile chains the running agent kept, see SPARE_CHAIN_MS).
    // From here h1's agent logs at debug level: its attach log line carries its own phase marks.
    const level = process.env.TENET_LOG_LEVEL;
    process.env.TENET_LOG_LEVEL = 'debug';
    const full: { untilHealthyMs: number; untilProgrammedMs: number }[] = [];
    for (let k = 0; k < 3; k++) {
      await stopAgent(h1);
      await nftIn(routerNs, ['delete', 'table', 'inet', 'tenet']);
      const t0 = performance.now();
      await startAgent(lab, h1);
      let healthy = 0;
      const healthyP = waitAgent(h1, 120000).then(() => (healthy = performance.now() - t0));
      const programmedMs = await until('the agent to program the table', t0, async () =>
        /^table inet tenet$/m.test(await nftIn(routerNs, ['list', 'tables'])),
      );
      await healthyP;
      full.push({ untilHealthyMs: round(healthy), untilProgrammedMs: round(programmedMs) });
    }
    if (level === undefined) delete process.env.TENET_LOG_LEVEL;
    else process.env.TENET_LOG_LEVEL = level;
    const againText = await nftIn(routerNs, ['-j', 'list', 'table', 'inet', 'tenet']);
    const again = parseTableJson(againText);
    const againSize = kernelSize(againText);
    if (
      !againSize ||
      againSize.setElements !== program.setElements ||
      againSize.mapElements !== program.mapElements ||
      againSize.sets !== program.sets
    ) {
      throw new Error(`after the restart the kernel holds ${JSON.stringify(againSize)}, before ${JSON.stringify(program)}`);
    }

    // (b) One more container into group g0, 5 times: attach latency (answers after policy is programmed)
    // and the time until `nft` shows its address in a set of g0 (found from a g0 member's address).
    const member = made[0].addresses[0];
    const setNames = again!.sets.filter((s) => s.elements.includes(member)).map((s) => s.name);
    if (setNames.length === 0) throw new Error(`no set holds ${member}`);
    const setName = setNames[0];
    // Quiet joins first: nothing else runs, so the agent's own marks show what a join costs it. Then
    // joins watched from outside: `nft list` polled in the router namespace until the address shows
    // (each poll is a process that competes for the 2 cores, so these bound rather than measure).
    const quiet: { attachMs: number }[] = [];
    const joins: { attachMs: number; inKernelMs: number }[] = [];
    for (let k = 0; k < 10; k++) {
      const polled = k >= 5;
      // The container's namespace exists first (as a runtime makes it before CNI ADD): t0 is the attach request.
      const netns = `${prefix}c-j${k}`;
      await addNetns(netns);
      let address = '';
      const before = new Set(parseSetElements(await nftIn(routerNs, ['-j', 'list', 'set', 'inet', 'tenet', setName])));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const client = new AttachClient(h1.socket);
      const t0 = performance.now();
      const attached = client
        .attach({
          containerId: `${name}-j${k}`,
          netns: `/run/netns/${netns}`,
          ifName: 'eth0',
          tenant,
          network: 'net',
          labels: { app: 'g0' },
        })
        .then((r) => {
          address = r.addresses[0].address.split('/')[0];
          return performance.now() - t0;
        })
        .finally(() => client.close());
      // The address is IPAM's choice: the join is seen when the set holds an element it did not hold before.
      const inKernelMs = polled
        ? await until('the join in the kernel', t0, async () =>
            parseSetElements(await nftIn(routerNs, ['-j', 'list', 'set', 'inet', 'tenet', setName])).some((e) => !before.has(e)),
          )
        : 0;
      const attachMsOne = await attached;
      const now = parseSetElements(await nftIn(routerNs, ['-j', 'list', 'set', 'inet', 'tenet', setName]));
      if (!now.includes(address) || before.has(address)) throw new Error(`join ${k}: ${address} is not the new element of ${setName}`);
      if (polled) joins.push({ attachMs: round(attachMsOne), inKernelMs: round(inKernelMs) });
      else quiet.push({ attachMs: round(attachMsOne) });
    }
    const allMarks = agentAttachMarks(h1.log).slice(-(quiet.length + joins.length));
    const marks = allMarks.slice(0, quiet.length);
    return {
      note: "real 2-host tenet lab; all containers on h1; the agent's own enforcer (nft -f via nsenter) in the tenant router namespace",
      hosts: 2,
      localEndpoints: local,
      groups,
      rules,
      attachAll: { ms: round(attachAllMs), concurrency: 8, p50Ms: round(median(attachMs)), maxMs: round(Math.max(...attachMs)) },
      program: againSize,
      fullProgram: {
        what: 'h1 agent stopped, table inet tenet deleted, agent started: ms from spawn until the table is in the kernel (includes node start, controller sync, compile, read-back, nft -f)',
        untilProgrammedMsMedian: round(median(full.map((f) => f.untilProgrammedMs))),
        runs: full,
      },
      oneJoin: {
        what: 'one more container attached into g0 through the agent socket (its namespace made before t0); 5 quiet joins, then 5 watched by polling nft',
        agentEnforcerMsMedian: marks.length ? round(median(marks.map((m) => (m.policy ?? NaN) - (m.namespace ?? NaN)))) : null,
        agentEnforcerWhat:
          "quiet joins, the agent's own debug log: from the 'namespace' mark (the enforcer's endpointAdded starts) to the 'policy' mark (nft -f of the join returned: enforced)",
        agentPolicyMarkMsMedian: marks.length ? round(median(marks.map((m) => m.policy ?? NaN))) : null,
        agentPolicyMarkWhat:
          "quiet joins, the same log: ms from the attach request's arrival (controller write included) until the join was enforced",
        attachMsMedian: round(median(quiet.map((j) => j.attachMs))),
        attachWhat: 'quiet joins: the attach answer (IPAM, endpoint store write, veth, container side and policy)',
        target: 20,
        quietRuns: quiet.map((j, i) => ({ ...j, agentMarks: marks[i] })),
        polledInKernelMsMedian: round(median(joins.map((j) => j.inKernelMs))),
        polledWhat:
          'watched joins: from the attach request until a polling `nft list set` in the router namespace shows the address (polling competes for the CPU: an upper bound)',
        polledRuns: joins.map((j, i) => ({ ...j, agentMarks: allMarks[quiet.length + i] })),
      },
    };
  } finally {
    await labDown(name).catch((error: Error) => process.stderr.write(`lab down: ${error.message}\n`));
    await Promise.all(
      listNetns()
        .filter((n) => n.startsWith(prefix))
        .map((n) => delNetns(n).catch(() => undefined)),
    );
  }
}

/**
 * The agent's own work for one join, without the kernel: the table programmer with every producer
 * (policy, antispoofing, service NAT) over a host view of `local` local endpoints (the lab's tenant),
 * a driver that commits nothing. This is the part of the lab's enforcer mark that is JavaScript; the
 * minimum of 40 joins is the figure a loaded machine disturbs least.
 */
async function programmerJoin(local: number, groups: number, rules: number): Promise<Record<string, number>> {
  const tenant = 'bench';
  const objects = labObjects(tenant, groups, rules) as TenetObject[];
  objects[0] = { ...objects[0], metadata: { name: tenant, uid: 'u1' }, status: { vni: 100 } } as TenetObject;
  objects.push({ apiVersion: V, kind: 'Host', metadata: { name: 'h1' }, spec: { underlayIP: '10.99.0.1' } } as TenetObject);
  const ep = (i: number): TenetObject =>
    ({
      apiVersion: V,
      kind: 'Endpoint',
      metadata: { name: `e${String(i).padStart(6, '0')}`, tenant, labels: { app: `g${i % groups}` } },
      spec: { network: 'net', host: 'h1', containerId: `c${i}`, ifName: 'eth0' },
      status: { phase: 'ready', ipv4: `10.64.${(i >> 8) & 255}.${i & 255}` },
    }) as TenetObject;
  for (let i = 0; i < local; i++) objects.push(ep(i + 2));
  const nothing: NftDriver = {
    commit: async () => undefined,
    read: async () => undefined,
    counters: async () => [],
    chains: async () => undefined,
    guard: async () => 0,
    setCounters: async () => new Map(),
  };
  const log = (): void => undefined;
  const enforcer = createPolicyEnforcer({
    hostName: 'h1',
    netnsPrefix: 'tqbench',
    log,
    namespaces: new RouterNamespaces(nothing),
    producers: [antispoofProducer, servicesProducer],
  });
  const options = { hostName: 'h1', netnsPrefix: 'tqbench', overlayMtu: 1450 };
  await enforcer.sync(buildHostView(objects, options));
  const joins: number[] = [];
  for (let k = 0; k < 41; k++) {
    objects.push(ep(local + 10 + k));
    const view = buildHostView(objects, options);
    const t0 = performance.now();
    await enforcer.endpointAdded(view, { tenant });
    // The first join warms up the JIT; it is not counted.
    if (k > 0) joins.push(performance.now() - t0);
  }
  return { localEndpoints: local, minMs: round(Math.min(...joins)), medianMs: round(median(joins)) };
}

/** Size of what the kernel holds: the read-back program, with rules counted from the JSON (read-back keeps only fingerprints). */
function kernelSize(text: string): ReturnType<typeof size> | undefined {
  const program = parseTableJson(text);
  if (!program) return undefined;
  const items = (JSON.parse(text) as { nftables: Array<{ rule?: unknown }> }).nftables;
  return { ...size(program), rules: items.filter((i) => i.rule).length };
}

/** The phase marks (ms since the request arrived) of every `attached` debug line in an agent log. */
function agentAttachMarks(log: string): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('attached')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; ms?: Record<string, number> };
      if (entry.msg === 'attached' && entry.ms) out.push(entry.ms);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

function parseSetElements(text: string): string[] {
  if (!text.trim()) return [];
  const items = (JSON.parse(text) as { nftables: Array<{ set?: { elem?: unknown[] } }> }).nftables;
  const out: string[] = [];
  for (const item of items) for (const e of item.set?.elem ?? []) if (typeof e === 'string') out.push(e);
  return out;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

async function main(): Promise<void> {
  const endpoints = arg('endpoints', 20000);
  const hosts = arg('hosts', 40);
  const groups = arg('groups', 1000);
  const rules = arg('rules', 5000);
  const intent = world(endpoints, hosts, groups, rules);

  const compileTimes: number[] = [];
  let programs: NftProgram[] = [];
  let compiled = compileTenant(intent, 'big');
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    compiled = compileTenant(intent, 'big');
    programs = Array.from({ length: hosts }, (_, h) => programForHost(compiled, { host: `h${h}` }));
    compileTimes.push(performance.now() - t0);
  }
  const sizes = programs.map(size);

  // One endpoint joining: by full recompile of its host + diff (what a naive agent would do), then incremental.
  const grown = world(endpoints + 1, hosts, groups, rules);
  const t1 = performance.now();
  const recompiled = programForHost(compileTenant(grown, 'big'), { host: `h${endpoints % hosts}` });
  const diff = diffPrograms(programs[endpoints % hosts], recompiled);
  const recompileJoinMs = performance.now() - t1;
  const joinTimes: number[] = [];
  const program0 = programs[0];
  for (let k = 0; k < 21; k++) {
    const newcomer = endpoint(endpoints + k * hosts, hosts, groups);
    const t0 = performance.now();
    endpointJoin(compiled, program0, newcomer, newcomer.status!.hostIfName!);
    // The first join warms up the JIT; it is not counted.
    if (k > 0) joinTimes.push(performance.now() - t0);
  }

  const result: Record<string, unknown> = {
    at: new Date().toISOString(),
    world: { endpoints, hosts, groups, rules, tenants: 1 },
    fullCompileMs: { median: round(median(compileTimes)), runs: compileTimes.map(round), target: 2000 },
    perHostProgram: {
      rulesMax: Math.max(...sizes.map((s) => s.rules)),
      chainsMax: Math.max(...sizes.map((s) => s.chains)),
      sets: sizes[0].sets,
      setElementsMax: Math.max(...sizes.map((s) => s.setElements)),
      mapElementsMax: Math.max(...sizes.map((s) => s.mapElements)),
    },
    oneEndpointJoin: {
      incrementalMsMedian: round(median(joinTimes)),
      incrementalMsMax: round(Math.max(...joinTimes)),
      target: 5,
      recompileAndDiffMs: round(recompileJoinMs),
      recompileDiffOps: diff.ops.map((o) => o.op),
    },
  };
  result.agentJoinJs = {
    what: "one join through the agent's table programmer (every producer: merge, diff), no kernel: the JavaScript part of the lab's enforcer mark",
    ...(await programmerJoin(arg('local', 2000), arg('lab-groups', 50), arg('lab-rules', 250))),
  };
  if (!process.argv.includes('--no-kernel'))
    result.kernel = {
      note: 'bare network namespace: nft -f of the compiled program, no agent',
      ...(await kernel(arg('local', 2000), 100)),
    };
  if (!process.argv.includes('--no-lab'))
    result.kernelLab = await kernelLab(arg('local', 2000), arg('lab-groups', 50), arg('lab-rules', 250));
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(text + '\n');
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'policy.json'), text + '\n');
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
