/**
 * Transparent resumption (Vertex AI, `sessionResumption.transparent: true`): the client messages the
 * server may not have consumed yet, so that a reconnect can send them again.
 *
 * Every update that carries a resumption handle also says `lastConsumedClientMessageIndex`: the last
 * client message of that connection (counted from 0, its `setup`) whose effect is in the state behind
 * the handle. Resuming with that handle continues from that state, so what the client sent after that
 * message — on that connection, and on any later one — must be sent again, in order, on the new
 * connection. The log keeps exactly those messages: each is written down when it goes out and
 * forgotten once a handle covers it.
 *
 * It is bounded (by bytes): a server that issues no handle for a long time (no completed turn) would
 * otherwise make it grow without end. The oldest messages go first, and `take` says how many were
 * given up, so the session can report them rather than lose them silently.
 *
 * A resend that fails half-way changes nothing: the log is only moved to the new connection once
 * every message went out on it (`resentOn`), so the next attempt (or the old connection, when a
 * goAway handover falls back to it) still knows what is owed.
 */

/** A message written to connection `link` as its `index`-th client message. */
interface Entry {
  readonly link: number
  readonly index: number
  readonly frame: string
  readonly bytes: number
}

export interface ReplayLog {
  /** A client message goes out on `link` as its `index`-th message (written down as it is handed to the socket). */
  readonly sent: (link: number, index: number, frame: string) => void
  /** That message did not go out after all (its connection was closing). */
  readonly retract: (link: number, index: number) => void
  /** A handle was issued on `link` covering its messages up to `index`: those are no longer needed. */
  readonly consumed: (link: number, index: number) => void
  /** The messages to send again, oldest first, and how many were given up for room. */
  readonly pending: () => { readonly frames: ReadonlyArray<string>; readonly dropped: number }
  /**
   * The first `count` pending messages were all sent again on `link`, from its `firstIndex`-th
   * message on: they are now owed by that connection (and what was given up is reported: forgotten).
   */
  readonly resentOn: (link: number, firstIndex: number, count: number) => void
  /** Forgets everything (the session starts afresh: nothing of the old context will be resumed). */
  readonly clear: () => void
}

/** Whether position (link, index) comes at or before (toLink, toIndex). */
const atOrBefore = (link: number, index: number, toLink: number, toIndex: number) =>
  link < toLink || (link === toLink && index <= toIndex)

/** An empty log holding at most `maxBytes` of messages (their JSON length: audio frames are ASCII). */
export const make = (maxBytes: number): ReplayLog => {
  let entries: Array<Entry> = []
  let head = 0
  let bytes = 0
  /** Messages given up for room since the last handle, and the newest of them. */
  let dropped = 0
  let lastDropped: Entry | undefined

  const shift = (): Entry => {
    const entry = entries[head++]
    bytes -= entry.bytes
    return entry
  }

  /** Reclaims the array's consumed front now and then (a queue without a per-message copy). */
  const compact = () => {
    if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head)
      head = 0
    }
  }

  const clear = () => {
    entries = []
    head = 0
    bytes = 0
    dropped = 0
    lastDropped = undefined
  }

  return {
    sent: (link, index, frame) => {
      entries.push({ link, index, frame, bytes: frame.length })
      bytes += frame.length
      while (bytes > maxBytes && head < entries.length) {
        lastDropped = shift()
        dropped++
      }
      compact()
    },
    consumed: (link, index) => {
      while (head < entries.length && atOrBefore(entries[head].link, entries[head].index, link, index)) shift()
      // What was given up before the handle's point is in the state behind it after all.
      if (lastDropped !== undefined && atOrBefore(lastDropped.link, lastDropped.index, link, index)) {
        dropped = 0
        lastDropped = undefined
      }
      compact()
    },
    pending: () => ({ frames: entries.slice(head).map((entry) => entry.frame), dropped }),
    retract: (link, index) => {
      for (let i = entries.length - 1; i >= head; i--) {
        const entry = entries[i]
        if (entry.link === link && entry.index === index) {
          entries.splice(i, 1)
          bytes -= entry.bytes
          return
        }
        if (entry.link < link || (entry.link === link && entry.index < index)) return
      }
    },
    resentOn: (link, firstIndex, count) => {
      entries = entries.slice(head).map((entry, i) => (i < count ? { ...entry, link, index: firstIndex + i } : entry))
      head = 0
      dropped = 0
      lastDropped = undefined
    },
    clear
  }
}
