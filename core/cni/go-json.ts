// core/cni/go-json: reading a field the way Go's encoding/json fills a struct field: the exact key first, else
// any key equal to it ignoring case. Runtimes written in Go send capability arguments from structs without
// json tags: containerd's go-cni marshals runtimeConfig.portMappings as {"HostPort","ContainerPort",
// "Protocol","HostIP"} and runtimeConfig.bandwidth as {"IngressRate",...}; the reference plugins read them
// with encoding/json, which accepts either spelling. Pure.

/** o[key], or the value of the first key of `o` equal to `key` ignoring case. */
export function goField(o: Readonly<Record<string, unknown>>, key: string): unknown {
  if (Object.hasOwn(o, key)) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}
