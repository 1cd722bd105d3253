import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../lab/hosts";

/**
 * What `npm pack` ships (package.json's `files`), read from `npm pack --dry-run`: the docs a user
 * is pointed to must be in the package they installed, since no repository is a click away.
 */
function shippedFiles(): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--ignore-scripts", "--json"], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
}

/** The relative link targets of a Markdown text (inline links; URLs and in-page anchors left out). */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#"))
    .map((target) => decodeURIComponent(target.split("#")[0]!));
}

describe("the npm package", () => {
  const files = shippedFiles();

  it("ships the README, docs, every README under provider/ and the examples' sources, no node_modules", () => {
    expect(files).toEqual(
      expect.arrayContaining(["README.md", "package.json", "provider/persist/README.md", "provider/components/README.md", "provider/objects/README.md"]),
    );
    expect(files.some((f) => f.startsWith("docs/"))).toBe(true);
    expect(files.filter((f) => /^provider\/kinds\/[^/]+\/README\.md$/.test(f)).length).toBeGreaterThan(10);
    expect(files.filter((f) => /^examples\/[^/]+\/index\.ts$/.test(f)).length).toBeGreaterThan(10);
    expect(files.filter((f) => f.includes("node_modules") || /(^|\/)Pulumi\.[^/]+\.yaml$/.test(f))).toEqual([]);
  });

  it("ships no source map whose sources it lacks: a stack trace or debugger would point at files the user does not have", () => {
    const shipped = new Set(files);
    const dangling = files
      .filter((f) => f.endsWith(".map"))
      .flatMap((map) =>
        (JSON.parse(readFileSync(path.join(repoRoot, map), "utf8")) as { sources: string[] }).sources.map((source) => ({
          map,
          source: path.posix.normalize(path.posix.join(path.posix.dirname(map), source)),
        })),
      )
      .filter(({ source }) => !shipped.has(source))
      .map(({ map, source }) => `${map} -> ${source}`);
    expect(dangling).toEqual([]);
  });

  it("every relative link in a shipped Markdown file points inside the package", () => {
    const shipped = new Set(files);
    const folders = new Set(
      files.flatMap((f) =>
        f
          .split("/")
          .slice(0, -1)
          .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
      ),
    );
    const broken = files
      .filter((f) => f.endsWith(".md"))
      .flatMap((file) =>
        relativeLinks(readFileSync(path.join(repoRoot, file), "utf8")).map((target) => ({
          file,
          target,
          resolved: path.posix.normalize(path.posix.join(path.posix.dirname(file), target)).replace(/\/$/, ""),
        })),
      )
      .filter(({ resolved }) => !shipped.has(resolved) && !folders.has(resolved))
      .map(({ file, target }) => `${file} -> ${target}`);
    expect(broken, "links that a user's installed copy cannot follow: ship the target (package.json files) or link to the repository").toEqual([]);
  });
});
