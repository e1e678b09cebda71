// Stores the instance events of every connected node in batches: whatever arrived while the previous batch was being
// written goes into the next transaction, and each event is reported once stored, in arrival order. One writer per
// control plane rather than one per connection: 100 agents each sending a few events at a time would otherwise still
// be hundreds of small transactions, each a synchronous commit on the event loop.
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import { EVENT_BATCH_MAX, type NodeEvent, recordInstanceEvents } from "./observed-instances.ts";

interface Queued extends NodeEvent {
  done: () => void;
}

/** The batching writer of instance events; `stored` is called for each event after its batch is written. */
export class InstanceEventWriter {
  private readonly queue: Queued[] = [];
  private draining = false;

  constructor(
    private readonly s: Pick<Services, "db" | "log">,
    private readonly stored: (nodeId: string, event: InstanceEvent) => void,
  ) {}

  /** Queues one event; resolves once it is stored (or its batch failed, which is logged). Never rejects. */
  add(node: NodeEvent["node"], event: InstanceEvent): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ node, event, done: resolve });
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // Yield first: frames already read from the sockets join this batch, and timers and pings get their turn.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = this.queue.splice(0, EVENT_BATCH_MAX);
      let ok = true;
      try {
        await recordInstanceEvents(this.s.db, batch);
      } catch (err) {
        ok = false;
        this.s.log.error({ err, events: batch.length }, "storing instance events failed");
      }
      for (const x of batch) {
        if (ok) this.stored(x.node.id, x.event);
        x.done();
      }
    }
    this.draining = false;
  }
}
