/**
 * A real lab for data-plane tests: a controller from test/helpers/controller.ts listening also on a unix
 * socket (host namespaces cannot reach 127.0.0.1 here), then `tenet lab` hosts and agents on it.
 * Everything is removed in t.after, even when the test fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { startController, type RunningController } from './controller';
import { deleteNetnsWithPrefix, uniqueStem } from './netns';
import { labDown, labRun, labUp, type RunOptions } from '../../src/lab/lab';
import { labNetnsPrefix, saveLab, type LabContainer, type LabState } from '../../src/lab/state';
import { API_VERSION } from '../../src/core/model/common';
import { AttachClient } from '../../src/attach/client';
import { run } from '../../src/kernel/exec';
import { tenantNamespaceName } from '../../src/core/dataplane/names';
import type { AttachRequest } from '../../src/attach/protocol';

export interface TestLab {
  state: LabState;
  controller: RunningController;
  socket: string;
  run(name: string, options: RunOptions): Promise<LabContainer>;
  /** Replaces the controller handle after a restart. */
  setController(controller: RunningController): void;
}

export async function startTestLab(
  t: TestContext,
  hosts: number,
  options: { agentResync?: number; controllerArgs?: string[] } = {},
): Promise<TestLab> {
  const name = uniqueStem('t');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-lab-test-'));
  const socket = path.join(dir, 'controller.sock');
  let controller = await startController({ extraArgs: ['--listen', `unix:${socket}`, ...(options.controllerArgs ?? [])] });
  const cleanup = async (): Promise<void> => {
    await labDown(name).catch(() => undefined);
    await deleteNetnsWithPrefix(labNetnsPrefix(name));
    await controller.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  t.after(cleanup);
  let state: LabState;
  try {
    state = await labUp({ name, hosts, server: `unix:${socket}`, token: controller.adminToken, agentResync: options.agentResync });
  } catch (error) {
    await cleanup();
    throw error;
  }
  const lab: TestLab = {
    state,
    controller,
    socket,
    async run(container, options) {
      const made = await labRun(state, container, options);
      state.containers.push(made);
      saveLab(state);
      return made;
    },
    setController(next) {
      controller = next;
      lab.controller = next;
    },
  };
  return lab;
}

export function tenantObjects(tenant: string, networks: { name: string; cidrs: string[] }[]): unknown[] {
  return [
    { apiVersion: API_VERSION, kind: 'Tenant', metadata: { name: tenant }, spec: {} },
    ...networks.map((n) => ({
      apiVersion: API_VERSION,
      kind: 'Network',
      metadata: { name: n.name, tenant },
      spec: { subnets: n.cidrs.map((cidr) => ({ cidr })) },
    })),
  ];
}

export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface AttachFixture {
  lab: TestLab;
  host: TestLab['state']['hosts'][number];
  /** A client of the host's attach socket (closed after the test). */
  agent: AttachClient;
  /** A bare container namespace (removed after the test) and a request that attaches it to tenant/net. */
  netns: string;
  request: AttachRequest;
  /** The tenant's router namespace on the host. */
  router: string;
}

/** One lab host, a tenant with network `net`, an attach client for the host and one bare container namespace. */
export async function startAttachFixture(t: TestContext, tenant: string, cidr: string, container: string): Promise<AttachFixture> {
  const lab = await startTestLab(t, 1);
  await lab.controller.client.apply(tenantObjects(tenant, [{ name: 'net', cidrs: [cidr] }]));
  const [host] = lab.state.hosts;
  const agent = new AttachClient(host.socket);
  t.after(() => agent.close());
  const netns = `tl-${lab.state.name}-c-${container}`;
  await run('ip', ['netns', 'add', netns]);
  t.after(() => run('ip', ['netns', 'del', netns], { allowFailure: true }));
  const request: AttachRequest = { containerId: `${container}1`, netns: `/run/netns/${netns}`, ifName: 'eth0', tenant, network: 'net' };
  return { lab, host, agent, netns, request, router: tenantNamespaceName(host.netnsPrefix, tenant) };
}
