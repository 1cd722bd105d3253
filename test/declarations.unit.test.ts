import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lab/hosts";

/** Bare module specifiers a declaration file imports, and the relative ones resolved to files. */
function importsOf(file: string): { bare: string[]; relative: string[] } {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g)].map((m) => m[1]!);
  const resolve = (spec: string) => {
    const base = path.resolve(path.dirname(file), spec);
    return [`${base}.d.ts`, path.join(base, "index.d.ts")].find((candidate) => existsSync(candidate)) ?? `${base}.d.ts`;
  };
  return {
    bare: specifiers.filter((s) => !s.startsWith(".")),
    relative: specifiers.filter((s) => s.startsWith(".")).map(resolve),
  };
}

/** Every bare module reached from `entries` through relative imports, with one declaration file that imports it. */
function modulesReached(entries: string[]): Map<string, string> {
  const reached = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const { bare, relative } = importsOf(file);
    for (const module of bare) if (!reached.has(module)) reached.set(module, file);
    queue.push(...relative);
  }
  return reached;
}

/**
 * A user's project compiles the package's declarations with its own settings and without
 * netdev's dependencies' types in reach: ssh2 ships none (TS7016 under strict), and zod's are
 * ES-module-only (TS1259 under CommonJS). So the public declarations may import nothing but
 * @pulumi/pulumi, which every Pulumi program has.
 */
describe("the package's public declarations", () => {
  const outDir = mkdtempSync(path.join(os.tmpdir(), "netdev-dts-"));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("reach no module but @pulumi/pulumi from the index or runtime entry points", () => {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json", "--emitDeclarationOnly", "--declarationMap", "false", "--outDir", outDir], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const entries = ["index", "runtime"].map((name) => path.join(outDir, "provider", `${name}.d.ts`));
    const reached = modulesReached(entries);
    const foreign = [...reached]
      .filter(([module]) => module !== "@pulumi/pulumi" && !module.startsWith("@pulumi/pulumi/"))
      .map(([module, file]) => `${module} (imported by ${path.relative(outDir, file)})`);
    expect(foreign).toEqual([]);
    // The walk itself found the package's own files: a broken walk would pass on nothing.
    expect(reached.get("@pulumi/pulumi")).toBeDefined();
  }, 120_000);
});
