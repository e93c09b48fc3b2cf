// A contender child process seen from the orchestrator: requests go out as JSON
// lines, replies come back matched by id. Its stderr is passed through (torch's
// kept quiet), prefixed with its name, so library notes and crashes stay visible.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

type Pending = { resolve(v: Record<string, unknown>): void; reject(e: Error): void; timer: NodeJS.Timeout };

export class ChildContender {
  private readonly proc;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: string | null = null;
  /** The last lines the child wrote on stderr (shown when it fails). */
  readonly stderrTail: string[] = [];

  constructor(readonly name: string, command: string, args: string[], env: NodeJS.ProcessEnv, quietStderr = false) {
    this.proc = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.proc.stdout }).on("line", (line) => {
      const msg = /^\{/.test(line) ? (JSON.parse(line) as { id: number; ok: boolean; error?: string }) : null;
      const p = msg && this.pending.get(msg.id);
      if (!p) return void process.stderr.write(`  [${this.name}] (stdout) ${line}\n`);
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg);
      else p.reject(new Error(`${this.name}: ${msg.error ?? "failed"}`));
    });
    createInterface({ input: this.proc.stderr }).on("line", (line) => {
      this.stderrTail.splice(0, this.stderrTail.push(line) - 20);
      if (!quietStderr) process.stderr.write(`  [${this.name}] ${line}\n`);
    });
    this.proc.on("error", (e) => this.fail(`could not start: ${e.message}`));
    this.proc.on("exit", (code, signal) => this.fail(`exited (${signal ?? `code ${code}`})`));
  }

  private fail(why: string): void {
    this.exited ??= why;
    const tail = this.stderrTail.slice(-5).join("\n    ");
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`${this.name} ${why}${tail ? `:\n    ${tail}` : ""}`));
    }
    this.pending.clear();
  }

  request<T = Record<string, unknown>>(req: Record<string, unknown> & { cmd: string }, timeoutS = 900): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} ${this.exited}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no reply to ${req.cmd} within ${timeoutS} s`));
      }, timeoutS * 1000);
      this.pending.set(id, { resolve: resolve as Pending["resolve"], reject, timer });
      this.proc.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Asks the child to exit; kills it if it has not within a few seconds. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.request({ cmd: "exit" }, 10).catch(() => undefined);
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  }
}
