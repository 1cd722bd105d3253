import { readFileSync } from "node:fs";
import { execa } from "execa";

/** A README's set-up block: the reader's values (its leading NAME=value lines) and the commands. */
export interface SetupBlock {
  /** Names the reader fills in (the block's leading assignments), in order. */
  values: string[];
  /** Every line after those, verbatim. */
  commands: string;
}

const VALUE_LINE = /^([A-Z][A-Z0-9_]*)=/;

/** The first ```sh block after `marker` in a markdown file. */
export function setupBlock(markdown: string, marker = "<!-- setup -->"): SetupBlock {
  const at = markdown.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker} marker`);
  const fenced = /```sh\n([\s\S]*?)\n```/.exec(markdown.slice(at));
  if (!fenced) throw new Error(`no sh block after ${marker}`);
  const lines = fenced[1]!.split("\n");
  const values: string[] = [];
  while (lines.length && VALUE_LINE.test(lines[0]!)) values.push(VALUE_LINE.exec(lines.shift()!)![1]!);
  return { values, commands: lines.join("\n") };
}

export function setupBlockOf(readmePath: string, marker?: string): SetupBlock {
  return setupBlock(readFileSync(readmePath, "utf8"), marker);
}

/**
 * Runs a set-up block's commands verbatim with bash (errexit, pipefail) in `cwd`, the reader's
 * values given by `values`; fails if the block names a value the caller does not give.
 */
export async function runSetupBlock(block: SetupBlock, values: Record<string, string>, cwd: string, env: Record<string, string>): Promise<void> {
  const missing = block.values.filter((name) => values[name] === undefined);
  if (missing.length) throw new Error(`the set-up block asks for ${missing.join(", ")}, which the test does not give`);
  const result = await execa("bash", ["-euo", "pipefail", "-c", block.commands], {
    cwd,
    env: { ...process.env, ...env, ...values },
    reject: false,
    stdin: "ignore",
  });
  if (result.exitCode !== 0) {
    throw new Error(`set-up block failed (exit ${result.exitCode}):\n${block.commands}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
}
