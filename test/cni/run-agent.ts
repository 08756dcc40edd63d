/**
 * Runs the agent like `tenet agent` does (used by the tests while the CLI command is not registered).
 * argv: controller host underlayIP socket netnsPrefix
 */
import { Agent } from '../../src/agent/agent';

const [controller, hostName, underlayIP, socketPath, netnsPrefix] = process.argv.slice(2);
const agent = new Agent({
  controller: [controller],
  hostName,
  underlayIP,
  socketPath,
  netnsPrefix,
  log: (level, message, fields) => {
    if (level !== 'debug' && level !== 'info') process.stderr.write(`${JSON.stringify({ level, message, ...fields })}\n`);
  },
});
void agent.start().then(() => process.stdout.write(`tenet agent ready on ${socketPath}\n`));
process.once('SIGTERM', () => void agent.stop().then(() => process.exit(0)));
