/**
 * Deletes that overlap on one host namespace, gathered so they can leave as one group
 * (grouped-delete.ts). A lane sends one group at a time: the kernel serializes deletes anyway
 * (rtnl), and while a group is out, the deletes that Pulumi starts meanwhile gather for the
 * next one. The first delete on an idle lane waits `windowMs` for the others of its wave.
 */
export interface LaneRequest<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

interface Lane<T, R> {
  waiting: Array<LaneRequest<T, R>>;
  busy: boolean;
}

export class DeleteLanes<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  constructor(
    private readonly windowMs: number,
    /** Most devices in one group; more wait for the next. */
    private readonly maxGroup: number,
  ) {}

  submit(key: string, item: T, send: (items: T[]) => Promise<R[]>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = { waiting: [], busy: false }));
      lane.waiting.push({ item, resolve, reject });
      if (lane.busy) return;
      lane.busy = true;
      setTimeout(() => this.drain(key, lane!, send), this.windowMs);
    });
  }

  private drain(key: string, lane: Lane<T, R>, send: (items: T[]) => Promise<R[]>): void {
    const group = lane.waiting.splice(0, this.maxGroup);
    if (group.length === 0) {
      lane.busy = false;
      this.lanes.delete(key);
      return;
    }
    void send(group.map((request) => request.item))
      .then(
        (results) => group.forEach((request, i) => request.resolve(results[i]!)),
        (error: unknown) => group.forEach((request) => request.reject(error)),
      )
      .finally(() => this.drain(key, lane, send));
  }
}
