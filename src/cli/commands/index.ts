/**
 * Every CLI command module, in the order they appear in `tenet --help`.
 * To add a command: write cli/commands/<name>.ts exporting `register(program)` and list it here.
 */
import type { Command } from 'commander';
import { register as version } from './version';
import { register as apply } from './apply';
import { register as diff } from './diff';
import { register as get } from './get';
import { register as describe } from './describe';
import { register as del } from './delete';
import { register as exportIntent } from './export';
import { register as history } from './history';
import { register as rollback } from './rollback';
import { register as controller } from './controller';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [version, apply, diff, get, describe, del, exportIntent, history, rollback, controller];
