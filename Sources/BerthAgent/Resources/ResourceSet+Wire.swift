import BerthAPI

extension ResourceSet {
    /// Validates and sums wire resources; `field` is their path in the request ("resources").
    /// The same name, role and type may repeat: the values combine.
    public init(_ resources: [Resource], at field: String) throws(APIError) {
        self.init()
        for (i, resource) in resources.enumerated() {
            let at = FieldPath.index(field, i)
            try resource.validate(at: at)
            let key = Key(name: resource.name, role: resource.role, type: resource.type)
            switch resource.type {
            case .scalar:
                let milli = Fixed.milli(resource.scalar ?? 0)
                add(key, .scalar(milli))
            case .ranges:
                add(key, .ranges(RangeList((resource.ranges ?? []).map { $0.begin...$0.end })))
            case .set:
                add(key, .set(Set(resource.set ?? [])))
            }
        }
    }

    /// Wire form, sorted by name then role; empty values are left out.
    public var resources: [Resource] {
        entries.keys.sorted().map { key in
            switch entries[key]! {
            case .scalar(let milli):
                return Resource.scalar(key.name, Fixed.double(milli), role: key.role)
            case .ranges(let list):
                return Resource.ranges(key.name, list.intervals.map { ValueRange(begin: $0.lowerBound, end: $0.upperBound) }, role: key.role)
            case .set(let items):
                return Resource.set(key.name, items.sorted(), role: key.role)
            }
        }
    }
}

/// The resource names berth itself understands.
public enum ResourceName {
    public static let cpus = "cpus"
    /// MiB.
    public static let mem = "mem"
    /// MiB.
    public static let disk = "disk"
    public static let gpus = "gpus"
    public static let ports = "ports"
}
