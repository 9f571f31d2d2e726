// vitest 5 targets Node >= 22 and, on a failure, its reporter calls `Map.groupBy`, which Node 20
// lacks: the failure's details are lost in a crash. These spec-exact polyfills (ES2024) keep
// failures readable on Node 20. Loaded by vitest.config.ts (main process) and as a setup file
// (workers). Remove when the project moves to Node 22.
type GroupBy = <K, T>(items: Iterable<T>, key: (item: T, index: number) => K) => Map<K, T[]>;

const mapStatics = Map as unknown as { groupBy?: GroupBy };
if (typeof mapStatics.groupBy !== "function") {
  mapStatics.groupBy = (items, key) => {
    const out = new Map();
    let index = 0;
    for (const item of items) {
      const k = key(item, index++);
      const group = out.get(k);
      if (group === undefined) out.set(k, [item]);
      else group.push(item);
    }
    return out;
  };
}

const objectStatics = Object as unknown as {
  groupBy?: <T>(items: Iterable<T>, key: (item: T, index: number) => PropertyKey) => Record<PropertyKey, T[]>;
};
if (typeof objectStatics.groupBy !== "function") {
  objectStatics.groupBy = (items, key) => {
    const out = Object.create(null) as Record<PropertyKey, unknown[]>;
    let index = 0;
    for (const item of items) {
      const k = key(item, index++);
      const group = out[k];
      if (group === undefined) out[k] = [item];
      else group.push(item);
    }
    return out as Record<PropertyKey, never[]>;
  };
}

const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
if (typeof promiseStatics.withResolvers !== "function") {
  promiseStatics.withResolvers = () => {
    let resolve: unknown;
    let reject: unknown;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
