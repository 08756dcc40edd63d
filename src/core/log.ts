/** The one logging callback the shells hand to what they run (agent, follower, reconciler): level, message, structured fields. */
export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
