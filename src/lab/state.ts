/**
 * A lab's record of everything it created, kept in /run/tenet/labs/<name>/lab.json (with logs, sockets
 * and the controller's data next to it), so `down` removes exactly that — by pid and by name — even
 * from another shell, and several labs coexist.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LabOutside } from './outside';

export const LABS_DIR = process.env.TENET_LABS_DIR ?? '/run/tenet/labs';
export const LAB_NAME_REGEX = /^[a-z][a-z0-9]{0,9}$/;
export const CONTAINER_NAME_REGEX = /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/;

export interface LabHost {
  name: string;
  netns: string;
  underlayIP: string;
  /** Link in the fabric namespace (bridge port). */
  fabricPort: string;
  socket: string;
  netnsPrefix: string;
  agentPid?: number;
  log: string;
  /** File holding this host's agent token (role agent, host-scoped). */
  tokenFile?: string;
  /** Id of that token on the controller (revoked by `down` when the controller is external). */
  tokenId?: string;
  /** The Host object existed on an external controller before `up`: `down` leaves it there. */
  hostPreexisted?: boolean;
}

export interface LabContainer {
  name: string;
  host: string;
  tenant: string;
  network: string;
  netns: string;
  endpoint?: string;
  addresses: string[];
  labels: Record<string, string>;
  scope?: string;
  ports?: { name?: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
}

export interface LabState {
  name: string;
  dir: string;
  fabricNetns: string;
  underlayCidr: string;
  /** `token`: an admin token for the operator and the lab's own calls (kept in this root-only directory). */
  controller: {
    external: boolean;
    servers: string[];
    token?: string;
    pid?: number;
    socket?: string;
    url?: string;
    dataDir?: string;
    log?: string;
  };
  hosts: LabHost[];
  containers: LabContainer[];
  createdAt: string;
  /** The agents' --resync (seconds); absent: the agent's default. */
  agentResync?: number;
  /** The outside world: upstream router (BIRD) and stand-in servers (src/lab/outside.ts). */
  outside?: LabOutside;
}

export class LabError extends Error {}

export function labDir(name: string): string {
  if (!LAB_NAME_REGEX.test(name)) throw new LabError(`lab name "${name}" must be a lower-case letter then up to 9 letters or digits`);
  return path.join(LABS_DIR, name);
}

/** Namespace names: `tl-<lab>-...`, so one lab's objects never collide with another's or the agent's own. */
export const labNetnsPrefix = (lab: string): string => `tl-${lab}-`;

export function loadLab(name: string): LabState | undefined {
  const file = path.join(labDir(name), 'lab.json');
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LabState;
}

export function saveLab(state: LabState): void {
  fs.mkdirSync(state.dir, { recursive: true, mode: 0o700 });
  const file = path.join(state.dir, 'lab.json');
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

export function listLabs(): string[] {
  if (!fs.existsSync(LABS_DIR)) return [];
  return fs
    .readdirSync(LABS_DIR)
    .filter((name) => LAB_NAME_REGEX.test(name) && fs.existsSync(path.join(LABS_DIR, name, 'lab.json')))
    .sort();
}

/** The lab named, or the only one when no name is given. */
export function resolveLab(name: string | undefined): LabState {
  if (name) {
    const state = loadLab(name);
    if (!state) throw new LabError(`no lab named "${name}" (labs: ${listLabs().join(', ') || 'none'})`);
    return state;
  }
  const labs = listLabs();
  if (labs.length === 0) throw new LabError('no lab is running; start one with `tenet lab up --name NAME --hosts N`');
  if (labs.length > 1) throw new LabError(`several labs are running (${labs.join(', ')}); choose one with --name`);
  return loadLab(labs[0])!;
}
