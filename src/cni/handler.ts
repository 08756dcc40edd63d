/**
 * One CNI invocation, start to finish: environment + stdin in, exit code + stdout out.
 * All CNI logic lives here; the native shim only carries bytes to the agent and back.
 */
import type { AttachRequest } from '../attach/protocol';
import { AgentUnreachableError, AttachApiError, type AttachApi } from '../attach/api';
import { decodeStdin, parseNetConf, replyVersion, type Json, type TenetNetConf } from './config';
import { attachmentParams, type AttachmentParams, type CniEnv } from './env';
import { CniCode, CniError, errorResult, fromAttachError } from './errors';
import { attachRequest, cniAttacher } from './request';
import { addResult, expectedFromPrevious } from './result';
import { commandAllowed, isCommand, LATEST_VERSION, SUPPORTED_VERSIONS, type CniCommand } from './versions';

export interface CniInvocation {
  env: CniEnv;
  stdin: string;
}

export interface CniOutcome {
  exitCode: number;
  stdout: string;
}

export interface CniDeps {
  attach: AttachApi;
  /** Whether a netns path exists where the agent runs. */
  netnsExists(path: string): boolean;
  /** Labels the container runtime keeps for this container where it passes none to CNI (podman.ts). */
  containerLabels?(containerId: string, env: CniEnv): Promise<Record<string, string> | undefined>;
}

export async function runCni(invocation: CniInvocation, deps: CniDeps): Promise<CniOutcome> {
  let raw: Json | undefined;
  try {
    const command = invocation.env.CNI_COMMAND;
    if (!isCommand(command)) {
      throw new CniError(
        CniCode.InvalidEnvironment,
        'invalid or missing environment variables: CNI_COMMAND',
        `CNI_COMMAND=${JSON.stringify(command ?? null)}`,
      );
    }
    if (command === 'VERSION') return versionReply(invocation.stdin);
    raw = decodeStdin(invocation.stdin);
    const conf = parseNetConf(raw, command !== 'STATUS');
    if (!commandAllowed(command, conf.cniVersion)) {
      throw new CniError(
        CniCode.IncompatibleVersion,
        'incompatible CNI version',
        `${command} needs cniVersion 1.1.0 or later, the configuration says ${conf.cniVersion}`,
      );
    }
    return await dispatch(command, conf, invocation.env, deps);
  } catch (error) {
    return failure(toCniError(error), replyVersion(raw));
  }
}

function versionReply(stdin: string): CniOutcome {
  // VERSION may come with or without a configuration; the answer echoes its version when there is one.
  let cniVersion = LATEST_VERSION as string;
  try {
    const raw = JSON.parse(stdin) as unknown;
    if (typeof raw === 'object' && raw !== null && typeof (raw as Json).cniVersion === 'string')
      cniVersion = (raw as Json).cniVersion as string;
  } catch {
    // no or unreadable configuration: answer in the newest version
  }
  return success({ cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] });
}

async function dispatch(command: Exclude<CniCommand, 'VERSION'>, conf: TenetNetConf, env: CniEnv, deps: CniDeps): Promise<CniOutcome> {
  switch (command) {
    case 'ADD':
      return add(conf, attachmentParams(env, command), deps, env);
    case 'DEL':
      return del(attachmentParams(env, command), deps);
    case 'CHECK':
      return check(conf, attachmentParams(env, command), deps);
    case 'STATUS':
      return status(deps);
    case 'GC':
      return gc(conf, deps);
  }
}

function requireNetns(params: AttachmentParams, deps: CniDeps): void {
  if (!deps.netnsExists(params.netns)) {
    throw new CniError(CniCode.UnknownContainer, 'network namespace does not exist', `CNI_NETNS=${params.netns}`);
  }
}

async function add(conf: TenetNetConf, params: AttachmentParams, deps: CniDeps, env: CniEnv): Promise<CniOutcome> {
  const request = attachRequest(conf, params, (await deps.containerLabels?.(params.containerId, env)) ?? {});
  requireNetns(params, deps);
  const existing = (await deps.attach.attachments()).find((a) => a.containerId === params.containerId && a.ifName === params.ifName);
  if (existing) {
    // SPEC.md: "If an interface of the requested name already exists in the container, the CNI plugin MUST return with an error."
    throw new CniError(
      CniCode.Conflict,
      'interface already exists',
      `container ${params.containerId} already has ${params.ifName} on ${existing.tenant}/${existing.network}; DEL it first`,
    );
  }
  let attached;
  try {
    attached = await deps.attach.attach(request);
  } catch (error) {
    // A conflict means the agent refused (undoing whatever it had made), and may be about an attachment
    // that already exists (the agent's view can trail the list above): never undo that one. A refused
    // namespace was refused before anything was made.
    if (!(error instanceof AttachApiError && (error.reason === 'Conflict' || error.reason === 'Forbidden')))
      await undoFailedAdd(request, deps);
    throw error;
  }
  return success(addResult(conf.cniVersion, attached, params.netns, conf.prevResult));
}

/** A failed ADD leaves nothing behind: whatever the agent got to is detached again (best effort). */
async function undoFailedAdd(request: AttachRequest, deps: CniDeps): Promise<void> {
  try {
    await deps.attach.detach({ containerId: request.containerId, ifName: request.ifName, netns: request.netns });
  } catch {
    // the original error is the one worth reporting
  }
}

async function del(params: AttachmentParams, deps: CniDeps): Promise<CniOutcome> {
  try {
    await deps.attach.detach({ containerId: params.containerId, ifName: params.ifName, ...(params.netns ? { netns: params.netns } : {}) });
  } catch (error) {
    // Nothing attached is success for DEL; anything else (controller away) must be retried.
    if (!(error instanceof AttachApiError && error.reason === 'NotFound')) throw error;
  }
  return { exitCode: 0, stdout: '' };
}

async function check(conf: TenetNetConf, params: AttachmentParams, deps: CniDeps): Promise<CniOutcome> {
  if (!conf.prevResult) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network configuration', 'CHECK needs prevResult');
  const expected = expectedFromPrevious(conf.prevResult, params.ifName, params.netns);
  if (!expected)
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      'invalid network configuration',
      `prevResult lists no interface ${params.ifName} in ${params.netns}`,
    );
  requireNetns(params, deps);
  let actual;
  try {
    actual = await deps.attach.check(attachRequest(conf, params));
  } catch (error) {
    if (error instanceof AttachApiError && error.reason === 'NotFound')
      throw new CniError(CniCode.Internal, 'attachment is missing', error.message);
    throw error;
  }
  const problems: string[] = [];
  if (expected.mac && expected.mac.toLowerCase() !== actual.mac.toLowerCase())
    problems.push(`MAC is ${actual.mac}, prevResult says ${expected.mac}`);
  const have = new Set(actual.addresses.map((a) => a.address));
  for (const address of expected.addresses) if (!have.has(address)) problems.push(`address ${address} is not attached`);
  if (problems.length > 0) throw new CniError(CniCode.Internal, 'attachment is not as expected', problems.join('; '));
  return { exitCode: 0, stdout: '' };
}

async function status(deps: CniDeps): Promise<CniOutcome> {
  let health;
  try {
    health = await deps.attach.healthz();
  } catch (error) {
    throw new CniError(CniCode.NotAvailable, 'tenet agent unavailable', (error as Error).message);
  }
  if (!health.ok || !health.controllerReachable) {
    // The kernel state of running containers stays as it is; only new ADDs cannot be served.
    throw new CniError(CniCode.NotAvailable, 'tenet controller unreachable', 'the agent cannot reach the controller; ADD cannot be served');
  }
  return { exitCode: 0, stdout: '' };
}

/**
 * GC collects only what this network configuration attached (Endpoint.spec.attachedBy = cni/<name>):
 * never the Docker driver's, the lab's, another configuration's, or endpoints made before the field
 * existed (they have none).
 */
async function gc(conf: TenetNetConf, deps: CniDeps): Promise<CniOutcome> {
  if (!conf.validAttachments)
    throw new CniError(CniCode.InvalidNetworkConfig, 'invalid network configuration', 'GC needs cni.dev/valid-attachments');
  const valid = new Set(conf.validAttachments.map((a) => `${a.containerID}\u0000${a.ifname}`));
  const validIds = new Set(conf.validAttachments.filter((a) => a.ifname === '').map((a) => a.containerID));
  const stale = (await deps.attach.attachments()).filter(
    (a) =>
      a.attachedBy === cniAttacher(conf) &&
      a.tenant === conf.tenant &&
      a.network === conf.network &&
      !valid.has(`${a.containerId}\u0000${a.ifName}`) &&
      !validIds.has(a.containerId),
  );
  const errors: string[] = [];
  // Keep going past failures and report them all (SPEC.md, GC).
  for (const attachment of stale) {
    try {
      await deps.attach.detach({ containerId: attachment.containerId, ifName: attachment.ifName });
    } catch (error) {
      errors.push(`${attachment.containerId}/${attachment.ifName}: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0)
    throw new CniError(CniCode.TryAgainLater, `GC failed for ${errors.length} of ${stale.length} stale attachments`, errors.join('; '));
  return { exitCode: 0, stdout: '' };
}

function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  if (error instanceof AgentUnreachableError)
    return new CniError(CniCode.TryAgainLater, 'tenet agent unreachable, try again later', error.message);
  if (error instanceof AttachApiError) return fromAttachError(error.reason, error.message);
  return new CniError(CniCode.Internal, 'internal error', error instanceof Error ? error.message : String(error));
}

function success(result: unknown): CniOutcome {
  return { exitCode: 0, stdout: `${JSON.stringify(result)}\n` };
}

function failure(error: CniError, cniVersion: string): CniOutcome {
  return { exitCode: 1, stdout: `${JSON.stringify(errorResult(error, cniVersion))}\n` };
}
