/**
 * Every CLI command module, in the order they appear in `tenet --help`.
 * To add a command: write cli/commands/<name>.ts exporting `register(program)` and list it here.
 */
import type { Command } from 'commander';
import { register as version } from './version';
import { register as agent } from './agent';
import { register as lab } from './lab';
import { register as apply } from './apply';
import { register as diff } from './diff';
import { register as get } from './get';
import { register as describe } from './describe';
import { register as del } from './delete';
import { register as exportIntent } from './export';
import { register as history } from './history';
import { register as rollback } from './rollback';
import { register as controller } from './controller';
import { register as explain } from './explain';
import { register as k8s } from './k8s';
import { register as token } from './token';
import { register as audit } from './audit';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [version, agent, lab, apply, diff, get, describe, del, exportIntent, history, rollback, controller, explain, k8s, token, audit];
