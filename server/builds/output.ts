// Build output: streamed to the pusher and to dashboard subscribers as it happens, and persisted with the build.
import type { Db } from "../db/client.ts";
import type { StreamPublisher } from "../service-types.ts";

// Stored output keeps the last BERTH_BUILD_OUTPUT_KB (1 MiB by default); the live stream always has everything.
const DEFAULT_MAX_STORED = 1024 * 1024;
const FLUSH_MS = 1000;

export class BuildOutput {
  private text = "";
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly hub: StreamPublisher,
    /** The app's id: the live `builds` channel is keyed by it, never by the (reusable) name. */
    private readonly appId: string,
    private readonly buildId: string,
    private readonly toPusher: (text: string) => void,
    /** Characters of output stored with the build (the last ones). */
    private readonly maxStored = DEFAULT_MAX_STORED,
  ) {}

  /** Appends one line everywhere. */
  line(text: string): void {
    const line = `${text}\n`;
    this.text += line;
    if (this.text.length > this.maxStored) this.text = this.text.slice(this.text.length - this.maxStored);
    this.toPusher(line);
    this.hub.publish(this.appId, "builds", { buildId: this.buildId, text: line });
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      // A failed periodic save is retried by the next one and by the final awaited flush, which reports errors.
      this.flush().catch(() => {
        this.dirty = true;
      });
    }, FLUSH_MS);
  }

  /** A step heading, like Heroku's "-----> " lines. */
  step(text: string): void {
    this.line(`-----> ${text}`);
  }

  /** Writes what is buffered to the build row. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    await this.db.build.update({ where: { id: this.buildId }, data: { output: this.text } });
  }
}
