// Live updates over ONE multiplexed WebSocket per tab (/api/v1/stream, same-origin, cookie auth). Components
// subscribe to (app, channel) topics; the socket opens with the first subscription, closes a little after the last
// one goes away, reconnects with jittered exponential backoff and re-subscribes every topic after a reconnect.
// The server ends a subscription with an `error` frame when access to the app is lost (removed from the team, app
// destroyed): the topic keeps the error and its listeners are told. It closes the socket with 4401 when the session
// ended (signed out elsewhere): that is not retried; the status becomes "signed-out" and the session is re-checked.
"use client";
import { useEffect, useRef, useSyncExternalStore } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { keys } from "./queries";

export type StreamChannel = "logs" | "stats" | "events" | "builds";
/**
 * idle: nothing subscribed; connecting: first attempt; open; reconnecting: lost, retrying after a delay;
 * signed-out: the server closed the stream because the session ended (no retry until something subscribes again).
 */
export type StreamStatus = "idle" | "connecting" | "open" | "reconnecting" | "signed-out";

type Listener = (data: unknown) => void;

interface Topic {
  app: string;
  channel: StreamChannel;
  listeners: Set<Listener>;
  /** An error the server answered to the subscription (e.g. not_found), cleared by the next subscribe. */
  error: string | null;
}

/** What the server sends (docs/api.md). */
interface ServerFrame {
  type: string;
  app?: string;
  channel?: string;
  data?: unknown;
  code?: string;
  message?: string;
  count?: number;
}

type DroppedListener = (app: string, channel: string, count: number) => void;
type TopicErrorListener = (app: string, channel: string, message: string) => void;

const PATH = "/api/v1/stream";
/** Close code of a stream whose session or token ended (docs/api.md): reconnecting with it cannot work. */
const CLOSE_UNAUTHORIZED = 4401;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** Keep the socket this long after the last unsubscribe, so moving between tabs of a page does not reconnect. */
const LINGER_MS = 5_000;

const topicKey = (app: string, channel: StreamChannel) => `${app}\u0000${channel}`;

class StreamClient {
  private ws: WebSocket | null = null;
  private readonly topics = new Map<string, Topic>();
  private readonly statusListeners = new Set<() => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly droppedListeners = new Set<DroppedListener>();
  private readonly topicErrorListeners = new Set<TopicErrorListener>();
  private readonly signedOutListeners = new Set<() => void>();
  private status: StreamStatus = "idle";
  private attempt = 0;
  private everOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    // A tab coming back from the background (or the network coming back) retries at once instead of waiting.
    const retryNow = () => {
      if (this.status === "reconnecting" && document.visibilityState === "visible") this.connect();
    };
    document.addEventListener("visibilitychange", retryNow);
    window.addEventListener("online", retryNow);
  }

  getStatus = (): StreamStatus => this.status;

  onStatus = (fn: () => void): (() => void) => {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  };

  /** Called after the socket came back from a drop (messages may have been missed meanwhile). */
  onReconnect(fn: () => void): () => void {
    this.reconnectListeners.add(fn);
    return () => this.reconnectListeners.delete(fn);
  }

  /** Called when the server reports messages of a topic it dropped because this tab fell behind. */
  onDropped(fn: DroppedListener): () => void {
    this.droppedListeners.add(fn);
    return () => this.droppedListeners.delete(fn);
  }

  /** Called when the server refuses or ends a topic's subscription (e.g. access to the app was lost). */
  onTopicError(fn: TopicErrorListener): () => void {
    this.topicErrorListeners.add(fn);
    return () => this.topicErrorListeners.delete(fn);
  }

  /** Called when the server closed the stream because the session ended. */
  onSignedOut(fn: () => void): () => void {
    this.signedOutListeners.add(fn);
    return () => this.signedOutListeners.delete(fn);
  }

  /** Listens to one topic; the topic is subscribed on the server while it has at least one listener. */
  subscribe(app: string, channel: StreamChannel, listener: Listener): () => void {
    const k = topicKey(app, channel);
    let topic = this.topics.get(k);
    if (!topic) {
      topic = { app, channel, listeners: new Set(), error: null };
      this.topics.set(k, topic);
      this.send({ type: "subscribe", app, channel });
    }
    topic.listeners.add(listener);
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (!this.ws && !this.retryTimer) this.connect();
    return () => {
      const t = this.topics.get(k);
      if (!t) return;
      t.listeners.delete(listener);
      if (t.listeners.size > 0) return;
      this.topics.delete(k);
      this.send({ type: "unsubscribe", app, channel });
      if (this.topics.size === 0) this.lingerTimer = setTimeout(() => this.shutdown(), LINGER_MS);
    };
  }

  private setStatus(next: StreamStatus): void {
    if (this.status === next) return;
    this.status = next;
    for (const fn of this.statusListeners) fn();
  }

  private send(frame: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private connect(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (this.ws) return;
    if (this.status !== "reconnecting") this.setStatus("connecting");
    const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${PATH}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      const reconnected = this.everOpened;
      this.attempt = 0;
      this.everOpened = true;
      for (const t of this.topics.values()) {
        t.error = null;
        this.send({ type: "subscribe", app: t.app, channel: t.channel });
      }
      this.setStatus("open");
      if (reconnected) for (const fn of this.reconnectListeners) fn();
    };
    ws.onmessage = (e: MessageEvent<unknown>) => {
      if (this.ws !== ws || typeof e.data !== "string") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(e.data) as ServerFrame;
      } catch {
        return;
      }
      if (!frame.app || !frame.channel) return;
      const topic = this.topics.get(topicKey(frame.app, frame.channel as StreamChannel));
      if (!topic) return;
      if (frame.type === "message") for (const fn of topic.listeners) fn(frame.data);
      else if (frame.type === "dropped") {
        for (const fn of this.droppedListeners) fn(frame.app, frame.channel, Number(frame.count) || 0);
      } else if (frame.type === "error") {
        // Refused, or ended by the server after access was lost: no more messages come for this topic.
        topic.error = frame.message ?? frame.code ?? "subscription refused";
        for (const fn of this.topicErrorListeners) fn(frame.app, frame.channel, topic.error);
      }
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (e.code === CLOSE_UNAUTHORIZED) {
        // The session ended: retrying would only be refused. Stay down until something subscribes again.
        this.attempt = 0;
        this.everOpened = false;
        this.setStatus("signed-out");
        for (const fn of this.signedOutListeners) fn();
        return;
      }
      if (this.topics.size === 0) this.setStatus("idle");
      else this.scheduleReconnect();
    };
    // onclose follows every error; nothing else to do here.
    ws.onerror = () => {};
  }

  private scheduleReconnect(): void {
    this.setStatus("reconnecting");
    // Full jitter over an exponential ceiling: many tabs of a restarted server do not all come back at once.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt++;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private shutdown(): void {
    this.lingerTimer = null;
    if (this.topics.size > 0) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    const ws = this.ws;
    this.ws = null;
    this.attempt = 0;
    this.everOpened = false;
    ws?.close(1000, "no subscriptions");
    this.setStatus("idle");
  }
}

let client: StreamClient | null = null;

/** The tab's one stream client (created on first use, in the browser only). */
function streamClient(): StreamClient {
  client ??= new StreamClient();
  return client;
}

const noop = () => () => {};

/** The connection state of the tab's stream, for a visible indicator. */
export function useStreamStatus(): StreamStatus {
  return useSyncExternalStore(
    (fn) => (typeof window === "undefined" ? noop() : streamClient().onStatus(fn)),
    () => streamClient().getStatus(),
    () => "idle",
  );
}

/** Calls `onMessage` with the data of every message on (app, channel) while mounted. */
export function useStream(
  app: string,
  channel: StreamChannel,
  onMessage: (data: unknown) => void,
  enabled = true,
): void {
  const handler = useRef(onMessage);
  useEffect(() => {
    handler.current = onMessage;
  });
  useEffect(() => {
    if (!enabled || !app) return;
    return streamClient().subscribe(app, channel, (data) => handler.current(data));
  }, [app, channel, enabled]);
}

/** Calls `fn` whenever the stream reconnects after a drop (to refetch what may have been missed). */
export function useStreamReconnect(fn: () => void): void {
  const handler = useRef(fn);
  useEffect(() => {
    handler.current = fn;
  });
  useEffect(() => streamClient().onReconnect(() => handler.current()), []);
}

/** Calls `fn` when the server closed the tab's stream because the session ended (to re-check the session). */
export function useStreamSignedOut(fn: () => void): void {
  const handler = useRef(fn);
  useEffect(() => {
    handler.current = fn;
  });
  useEffect(() => streamClient().onSignedOut(() => handler.current()), []);
}

/** Calls `fn` with the server's message when it refuses or ends the subscription of (app, channel). */
export function useStreamError(app: string, channel: StreamChannel, fn: (message: string) => void): void {
  const handler = useRef(fn);
  useEffect(() => {
    handler.current = fn;
  });
  useEffect(
    () =>
      streamClient().onTopicError((a, c, message) => {
        if (a === app && c === channel) handler.current(message);
      }),
    [app, channel],
  );
}

/** Calls `fn` with the number of messages on (app, channel) the server dropped because this tab fell behind. */
export function useStreamDropped(app: string, channel: StreamChannel, fn: (count: number) => void): void {
  const handler = useRef(fn);
  useEffect(() => {
    handler.current = fn;
  });
  useEffect(
    () =>
      streamClient().onDropped((a, c, count) => {
        if (a === app && c === channel) handler.current(count);
      }),
    [app, channel],
  );
}

/** An app event (`data` of a message on the events channel). */
export interface AppEvent {
  kind: "instance" | "release" | "formation" | "config" | "domain" | "app" | (string & {});
  [field: string]: unknown;
}

/**
 * Keeps the app's queries (instances, releases, formation, config, activity, the app itself) fresh: any event of
 * the app, or a reconnect after a drop, invalidates them. Bursts of events are coalesced into one refetch.
 */
export function useAppEvents(app: string): void {
  const qc = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const refresh = () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void qc.invalidateQueries({ queryKey: keys.app(app) });
    }, 250);
  };
  useStream(app, "events", refresh);
  useStreamReconnect(refresh);
  // Access to the app was lost (or it was destroyed): the refetch answers 404 and the page shows that.
  useStreamError(app, "events", refresh);
}
