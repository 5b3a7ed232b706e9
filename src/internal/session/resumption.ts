/**
 * Session resumption: the latest handle the server said can be resumed, the safe points to switch
 * connections at, and the setup fields that ask for it.
 */
import type * as Protocol from "../../Protocol.js"
import type * as ReconnectPolicy from "../../ReconnectPolicy.js"
import type { Link, ResumptionUpdate } from "./link.js"
import type { Session } from "./session.js"

/**
 * What the replay log of a transparent session holds: about three minutes of 40 ms frames of 16 kHz
 * audio, for a server that issues no handle meanwhile (no completed turn).
 */
export const replayLogBytes = 8 * 1024 * 1024

/** Keeps the latest handle the server said can be resumed (a non-empty `newHandle` with `resumable: true`). */
export const applyUpdate = (session: Session, link: Link, update: ResumptionUpdate): void => {
  if (update.resumable === true && update.newHandle !== undefined && update.newHandle !== "") {
    session.handle = update.newHandle
    session.handleFresh = true
    // Without the index (not Vertex AI), the handle is taken to cover what was sent until now.
    session.replay?.consumed(link.index, Number(update.lastConsumedClientMessageIndex ?? link.sent - 1))
  } else {
    session.handleFresh = false
  }
}

/** No generation and no function call in flight, and a handle newer than the last generation. */
export const isSafePoint = (session: Session): boolean =>
  !session.generating && session.calls.pendingCount() === 0 && (session.handle === undefined || session.handleFresh)

/** `sessionResumption.transparent: true` (Vertex AI): updates say `lastConsumedClientMessageIndex`. */
export const isTransparent = (setup: Protocol.Setup): boolean =>
  (setup.sessionResumption as { readonly transparent?: unknown } | undefined)?.transparent === true

/** Adds `sessionResumption: {}` when the session reconnects by itself and the config says nothing of resumption. */
export const withResumption = (
  config: Protocol.LiveConnectConfig,
  policy: ReconnectPolicy.ReconnectPolicy | undefined
): Protocol.LiveConnectConfig =>
  policy === undefined || config.sessionResumption !== undefined ? config : { ...config, sessionResumption: {} }
