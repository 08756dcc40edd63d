/**
 * Every CLI command module, in the order they appear in `tenet --help`.
 * Modules load only when their command runs: the controller, agent and lab pull in fastify,
 * SQLite, etcd and more, and every `tenet get` would otherwise pay for all of them at start-up.
 * To add a command: write cli/commands/<name>.ts exporting `register(program)` and list it here
 * under the name of its top-level command.
 */
import type { Command } from 'commander';

export interface CommandModule {
  name: string;
  load: () => (program: Command) => void;
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  { name: 'version', load: () => (require('./version') as typeof import('./version')).register },
  { name: 'agent', load: () => (require('./agent') as typeof import('./agent')).register },
  { name: 'lab', load: () => (require('./lab') as typeof import('./lab')).register },
  { name: 'apply', load: () => (require('./apply') as typeof import('./apply')).register },
  { name: 'diff', load: () => (require('./diff') as typeof import('./diff')).register },
  { name: 'get', load: () => (require('./get') as typeof import('./get')).register },
  { name: 'describe', load: () => (require('./describe') as typeof import('./describe')).register },
  { name: 'delete', load: () => (require('./delete') as typeof import('./delete')).register },
  { name: 'export', load: () => (require('./export') as typeof import('./export')).register },
  { name: 'history', load: () => (require('./history') as typeof import('./history')).register },
  { name: 'rollback', load: () => (require('./rollback') as typeof import('./rollback')).register },
  { name: 'controller', load: () => (require('./controller') as typeof import('./controller')).register },
  { name: 'float', load: () => (require('./float') as typeof import('./float')).register },
  { name: 'explain', load: () => (require('./explain') as typeof import('./explain')).register },
  { name: 'trace', load: () => (require('./trace') as typeof import('./trace')).register },
  { name: 'flows', load: () => (require('./flows') as typeof import('./flows')).register },
  { name: 'k8s', load: () => (require('./k8s') as typeof import('./k8s')).register },
  { name: 'token', load: () => (require('./token') as typeof import('./token')).register },
  { name: 'audit', load: () => (require('./audit') as typeof import('./audit')).register },
  { name: 'completion', load: () => (require('./completion') as typeof import('./completion')).register },
  { name: 'config', load: () => (require('./config') as typeof import('./config')).register },
];
