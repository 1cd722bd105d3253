import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { setupBlock, setupBlockOf } from "./readme-setup";

describe("README set-up blocks (pure)", () => {
  it("splits the reader's values from the commands", () => {
    const block = setupBlock('x\n<!-- setup -->\n```sh\nHOST=1.2.3.4   # yours\nKEY=~/k\npulumi config set a "$HOST"\nB=2 echo\n```\n');
    expect(block.values).toEqual(["HOST", "KEY"]);
    expect(block.commands).toBe('pulumi config set a "$HOST"\nB=2 echo');
  });

  it("every example README and CONTRIBUTING.md have one, and it sets the connection", () => {
    const readmes = [
      ...readdirSync(path.join(repoRoot, "examples")).map((d) => path.join(repoRoot, "examples", d, "README.md")),
      path.join(repoRoot, "CONTRIBUTING.md"),
    ];
    for (const readme of readmes) {
      const block = setupBlockOf(readme);
      expect(block.commands, readme).toMatch(/pulumi stack init dev/);
      expect(block.commands, readme).toMatch(/pulumi config set --secret (netdev:)?privateKey < "\$KEY"/);
    }
  });
});
