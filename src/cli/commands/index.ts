/**
 * Every CLI command module, in the order they appear in `tenet --help`.
 * To add a command: write cli/commands/<name>.ts exporting `register(program)` and list it here.
 */
import type { Command } from 'commander';
import { register as version } from './version';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [version];
