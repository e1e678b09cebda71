// Event fan-out from the agents: node and instance changes kick a pass, instance events go to the app's live
// `events` channel and to the scheduler's own `instance` event, and a node that (re)joins without instances we
// were stopping there lets them be forgotten at once.
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import type { SchedulerCore } from "./scheduler-core.ts";

export interface AgentListeners {
  onNodeChange: () => void;
  onRegistered: (nodeId: string) => void;
  onInstanceEvent: (nodeId: string, e: InstanceEvent) => void;
}

/** The listeners the scheduler puts on its agent hub while it runs. */
export function agentListeners(core: SchedulerCore): AgentListeners {
  const { s, agents } = core;
  const onNodeChange = () => core.kick();

  /**
   * A node (re)joined: instances we were stopping there that it does not run (it lost them, e.g. a new machine under
   * the same name) will never be reported stopped, so they are forgotten now instead of after FORGET_AFTER_MS.
   */
  const onRegistered = (nodeId: string) => {
    core.kick();
    agents
      .observedState(nodeId)
      .then(async (observed) => {
        const running = observed.map((o) => o.id);
        const gone = await s.db.instance.deleteMany({
          where: { nodeId, desired: "stopped", id: { notIn: running } },
        });
        if (gone.count > 0) core.kick();
      })
      .catch((err: unknown) => s.log.warn({ err, node: nodeId }, "reading a node's observed state failed"));
  };

  const onInstanceEvent = (nodeId: string, e: InstanceEvent) => {
    // Looked up before the pass this kicks can forget the instance.
    publishInstanceEvent(core, nodeId, e).catch((err: unknown) =>
      s.log.warn({ err, instance: e.instanceId }, "publishing an instance event failed"),
    );
    core.emit("instance", e.app, e);
    core.kick();
  };
  return { onNodeChange, onRegistered, onInstanceEvent };
}

/**
 * Live `events` subscribers are keyed by app id: the instance's own row says which app it belongs to (the name
 * in the event is the agent's word, and a name can be reused by another team's new app). Only the node the
 * instance is on is published.
 */
async function publishInstanceEvent(core: SchedulerCore, nodeId: string, e: InstanceEvent): Promise<void> {
  const row = await core.s.db.instance.findUnique({
    where: { id: e.instanceId },
    select: { appId: true, nodeId: true },
  });
  if (row && row.nodeId === nodeId) core.s.hub.publish(row.appId, "events", { kind: "instance", ...e });
}
