/**
 * Channel groups (spec 2.2): named sets of channels one subscribe can cover. An interface so
 * that several hub processes can share them later (ARCHITECTURE.md); `MemoryChannelGroupStore`
 * is the in-process one. Changes are announced to listeners, so a hub can move its live
 * subscribers of a group onto a channel added to it.
 */

export type ChannelGroupListener = (
  group: string,
  added: readonly string[],
  removed: readonly string[],
) => void;

export interface ChannelGroupStore {
  /**
   * Adds channels; returns those that were new. Adds nothing and returns `undefined` when the
   * group would then hold more than `maxChannels`.
   */
  add(
    group: string,
    channels: readonly string[],
    maxChannels: number,
  ): Promise<readonly string[] | undefined>;
  /** Removes channels; returns those that were there. */
  remove(group: string, channels: readonly string[]): Promise<readonly string[]>;
  /** The group's channels, in the order they were added; `[]` for an unknown group. */
  list(group: string): Promise<readonly string[]>;
  /** Deletes the group; returns the channels it held. */
  delete(group: string): Promise<readonly string[]>;
  onChange(listener: ChannelGroupListener): () => void;
}

export class MemoryChannelGroupStore implements ChannelGroupStore {
  readonly #groups = new Map<string, Set<string>>();
  readonly #listeners = new Set<ChannelGroupListener>();

  #emit(group: string, added: readonly string[], removed: readonly string[]): void {
    if (added.length === 0 && removed.length === 0) return;
    for (const listener of this.#listeners) listener(group, added, removed);
  }

  async add(
    group: string,
    channels: readonly string[],
    maxChannels: number,
  ): Promise<readonly string[] | undefined> {
    const current = this.#groups.get(group) ?? new Set<string>();
    const added = [...new Set(channels)].filter((channel) => !current.has(channel));
    if (current.size + added.length > maxChannels) return undefined;
    for (const channel of added) current.add(channel);
    if (current.size > 0) this.#groups.set(group, current);
    this.#emit(group, added, []);
    return added;
  }

  async remove(group: string, channels: readonly string[]): Promise<readonly string[]> {
    const current = this.#groups.get(group);
    if (current === undefined) return [];
    const removed = [...new Set(channels)].filter((channel) => current.delete(channel));
    if (current.size === 0) this.#groups.delete(group);
    this.#emit(group, [], removed);
    return removed;
  }

  async list(group: string): Promise<readonly string[]> {
    return [...(this.#groups.get(group) ?? [])];
  }

  async delete(group: string): Promise<readonly string[]> {
    const removed = [...(this.#groups.get(group) ?? [])];
    this.#groups.delete(group);
    this.#emit(group, [], removed);
    return removed;
  }

  onChange(listener: ChannelGroupListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
