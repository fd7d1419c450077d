/// One configurable parameter of ``SearchConfig``: its ``ParameterDescriptor``
/// (key, accepted values, liveness, documentation) and how to read and write
/// it. The same specification validates config files, `--set` overrides and
/// the dashboard's `:set`, so all three reject bad values the same way.
public struct ParameterSpec: Sendable {
    public let descriptor: ParameterDescriptor
    let read: @Sendable (SearchConfig) -> ConfigValue
    let write: @Sendable (inout SearchConfig, ConfigValue) -> Void
    /// The default of a remedy's parameter (the engine's own take theirs
    /// from ``SearchConfig``'s property initialisers).
    let defaultValue: ConfigValue?

    init(key: String, kind: ParameterDescriptor.Kind, isLive: Bool, documentation: String,
         read: @escaping @Sendable (SearchConfig) -> ConfigValue, write: @escaping @Sendable (inout SearchConfig, ConfigValue) -> Void) {
        descriptor = ParameterDescriptor(key: key, kind: kind, isLive: isLive, documentation: documentation)
        self.read = read
        self.write = write
        defaultValue = nil
    }

    /// A remedy's parameter: kept in ``SearchConfig``'s table of remedy
    /// values under its key. `defaultValue` must be valid for `kind`.
    public init(remedyParameter key: String, kind: ParameterDescriptor.Kind, default defaultValue: ConfigValue, isLive: Bool,
                documentation: String) {
        descriptor = ParameterDescriptor(key: key, kind: kind, isLive: isLive, documentation: documentation)
        read = { $0[remedy: key] }
        write = { config, value in config[remedy: key] = value }
        self.defaultValue = defaultValue
    }

    public var key: String { descriptor.key }
    public var kind: ParameterDescriptor.Kind { descriptor.kind }
    public var isLive: Bool { descriptor.isLive }
    public var documentation: String { descriptor.documentation }
    public var allowed: String { descriptor.allowed }

    public func validate(_ value: ConfigValue) throws(ConfigError) -> ConfigValue { try descriptor.validate(value) }
}
