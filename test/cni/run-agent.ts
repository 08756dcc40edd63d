/**
 * Runs the agent like `tenet agent` does (used by the tests while the CLI command is not registered).
 * argv: controller host underlayIP socket netnsPrefix [dockerPluginSocket]
 */
import { Agent } from '../../src/agent/agent';
import { startDockerPlugin, type DockerPlugin } from '../../src/cnm/server';

const [controller, hostName, underlayIP, socketPath, netnsPrefix, dockerSocket] = process.argv.slice(2);
const log = (level: string, message: string, fields?: Record<string, unknown>) => {
  if (level !== 'debug' && level !== 'info') process.stderr.write(`${JSON.stringify({ level, message, ...fields })}\n`);
};
const agent = new Agent({ controller: [controller], hostName, underlayIP, socketPath, netnsPrefix, log });
let plugin: DockerPlugin | undefined;
void (async () => {
  await agent.start();
  if (dockerSocket) plugin = await startDockerPlugin({ attach: agent.service, client: agent.client, hostName, socketPath: dockerSocket, log: (m, f) => log('info', m, f) });
  process.stdout.write(`tenet agent ready on ${socketPath}\n`);
})();
process.once('SIGTERM', () => void (async () => {
  await plugin?.close();
  await agent.stop();
  process.exit(0);
})());
