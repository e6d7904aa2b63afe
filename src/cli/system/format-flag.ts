// The --format flag of `box info` and `box version`, in a module of its own: `box version` loads
// it without info's module graph (cgroups, koffi, networks: ~2 ms of CPU it does not use).
export const FORMAT = {
  names: ['--format', '-f'],
  key: 'format',
  kind: 'string' as const,
  value: 'string',
  description: "json for machine-readable output, or a Go template ('{{.KernelVersion}}')",
};
