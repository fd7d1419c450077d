// The engine speaks the telemetry contract: its events, commands, parameter
// descriptors and metrics store are DartsTelemetry's types, re-exported so
// that users of the engine need one import.
@_exported import DartsTelemetry
