/**
 * The files named on vitest's command line (`vitest run a.unit.test.ts`): the arguments that are
 * no option and no option's separate value. Empty when the run names none (every file).
 */
export function namedFiles(argv: readonly string[]): string[] {
  const afterRun = argv.slice(argv.indexOf("run") + 1);
  const named: string[] = [];
  for (let i = 0; i < afterRun.length; i++) {
    const arg = afterRun[i]!;
    if (arg.startsWith("-")) {
      // "--config x", "-t name": the next argument is the option's value, not a file.
      if (!arg.includes("=") && i + 1 < afterRun.length && !afterRun[i + 1]!.startsWith("-")) i++;
      continue;
    }
    named.push(arg);
  }
  return named;
}
