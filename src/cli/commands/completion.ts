import type { Command } from 'commander';
import { CliError } from '../context';
import { bashCompletion, fishCompletion, zshCompletion } from '../completion';
import { buildProgram } from '../main';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      '\nExamples:\n  source <(tenet completion bash)            # bash, now; add to ~/.bashrc to keep it\n  source <(tenet completion zsh)             # zsh\n  tenet completion fish > ~/.config/fish/completions/tenet.fish',
    )
    .action((shell: string) => {
      // The whole tree, every command loaded: completion offers all of them.
      const full = buildProgram();
      const generators: Record<string, (p: Command) => string> = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion };
      const generate = generators[shell];
      if (!generate) throw new CliError(`unknown shell "${shell.slice(0, 40)}": use bash, zsh or fish`, 2);
      process.stdout.write(generate(full));
    });
}
