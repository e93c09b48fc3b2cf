// A contender child process seen from the orchestrator: requests go out as JSON
// lines, replies come back matched by id. The child's stderr is passed through,
// prefixed with its name, so library notes and crashes stay visible.

import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class ChildContender {
  private readonly proc: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: string | null = null;
  /** The last lines the child wrote on stderr (shown when it fails). */
  readonly stderrTail: string[] = [];

  constructor(readonly name: string, command: string, args: string[], env: NodeJS.ProcessEnv, private readonly quietStderr = false) {
    this.proc = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.proc.stdout! }).on("line", (line) => this.onLine(line));
    createInterface({ input: this.proc.stderr! }).on("line", (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      if (!this.quietStderr) process.stderr.write(`  [${this.name}] ${line}\n`);
    });
    this.proc.on("error", (e) => this.fail(`could not start: ${e.message}`));
    this.proc.on("exit", (code, signal) => this.fail(`exited (${signal ?? `code ${code}`})`));
  }

  private onLine(line: string): void {
    let msg: { id?: number; ok?: boolean; error?: string } & Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      process.stderr.write(`  [${this.name}] (stdout) ${line}\n`);
      return;
    }
    const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id!);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg);
    else p.reject(new Error(`${this.name}: ${msg.error ?? "failed"}`));
  }

  private fail(why: string): void {
    if (this.exited) return;
    this.exited = why;
    const tail = this.stderrTail.slice(-5).join("\n    ");
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`${this.name} ${why}${tail ? `:\n    ${tail}` : ""}`));
    }
    this.pending.clear();
  }

  get alive(): boolean {
    return this.exited === null;
  }

  request<T = Record<string, unknown>>(req: Record<string, unknown> & { cmd: string }, timeoutS = 900): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} ${this.exited}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no reply to ${req.cmd} within ${timeoutS} s`));
      }, timeoutS * 1000);
      this.pending.set(id, { resolve: resolve as (v: Record<string, unknown>) => void, reject, timer });
      this.proc.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Asks the child to exit; kills it if it has not within a few seconds. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once("exit", () => r()));
    this.request({ cmd: "exit" }, 10).catch(() => undefined);
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  }
}
