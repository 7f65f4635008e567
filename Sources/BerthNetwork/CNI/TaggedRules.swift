import BerthLinux

/// The iptables rules CNI plugins tag with the comment `name: "<network>" id: "<container>"`.
/// The bridge plugin finds its masquerade rules through the interface inside the namespace; when
/// the namespace is already gone its DEL cannot, so berth removes what still carries the tag:
/// the tagged rules, then the chains they lived in or jumped to.
enum TaggedRules {
    static func remove(network: String, containerID: String) -> NetworkError? {
        let tag = "name: \\\"\(network)\\\" id: \\\"\(containerID)\\\""
        var failures: [String] = []
        for tool in ["/usr/sbin/iptables", "/usr/sbin/ip6tables"] where FileSystem.exists(tool) {
            guard let listing = try? run(tool, ["-w", "-t", "nat", "-S"]), listing.status == .exited(0) else { continue }
            var chains: Set<String> = []
            for line in listing.standardOutputText.split(separator: "\n") where line.hasPrefix("-A ") && line.contains(tag) {
                let words = split(String(line))
                guard words.count > 1 else { continue }
                if words[1].hasPrefix("CNI-") { chains.insert(words[1]) }
                if let jump = words.firstIndex(of: "-j"), jump + 1 < words.count, words[jump + 1].hasPrefix("CNI-") {
                    chains.insert(words[jump + 1])
                }
                let deleted = try? run(tool, ["-w", "-t", "nat", "-D"] + words.dropFirst())
                if deleted?.status != .exited(0) { failures.append("\(tool) -t nat -D \(words.dropFirst().joined(separator: " ")) failed") }
            }
            // Only berth-tagged chains of this container, and only once nothing jumps to them.
            for chain in chains.sorted() {
                _ = try? run(tool, ["-w", "-t", "nat", "-F", chain])
                _ = try? run(tool, ["-w", "-t", "nat", "-X", chain])
            }
        }
        return failures.isEmpty ? nil : NetworkError("removing rules of \(containerID): " + failures.joined(separator: "; "))
    }

    private static func run(_ tool: String, _ arguments: [String]) throws -> ChildProcess.Output {
        var child = ChildProcess(path: tool, arguments: [tool] + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        child.timeout = .seconds(30)
        return try child.run()
    }

    /// Splits an `iptables -S` line into arguments: words, and "quoted strings" with \" escapes.
    static func split(_ line: String) -> [String] {
        var words: [String] = [], current = "", quoted = false, escaped = false, inWord = false
        for character in line {
            if escaped { current.append(character); escaped = false; continue }
            if quoted {
                if character == "\\" { escaped = true } else if character == "\"" { quoted = false } else { current.append(character) }
                continue
            }
            if character == "\"" { quoted = true; inWord = true; continue }
            if character == " " {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(character)
            inWord = true
        }
        if inWord { words.append(current) }
        return words
    }
}
