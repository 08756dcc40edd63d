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

export interface TestLab {
  state: LabState;
  controller: RunningController;
  socket: string;
  run(name: string, options: RunOptions): Promise<LabContainer>;
  /** Replaces the controller handle after a restart. */
  setController(controller: RunningController): void;
}

export async function startTestLab(t: TestContext, hosts: number): Promise<TestLab> {
  const name = uniqueStem('t');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-lab-test-'));
  const socket = path.join(dir, 'controller.sock');
  let controller = await startController({ extraArgs: ['--listen', `unix:${socket}`] });
  const cleanup = async (): Promise<void> => {
    await labDown(name).catch(() => undefined);
    await deleteNetnsWithPrefix(labNetnsPrefix(name));
    await controller.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  t.after(cleanup);
  let state: LabState;
  try {
    state = await labUp({ name, hosts, server: `unix:${socket}`, token: controller.adminToken });
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
    ...networks.map((n) => ({ apiVersion: API_VERSION, kind: 'Network', metadata: { name: n.name, tenant }, spec: { subnets: n.cidrs.map((cidr) => ({ cidr })) } })),
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
