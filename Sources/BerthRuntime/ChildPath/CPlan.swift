import BerthCgroups
import CBerth
#if canImport(Glibc)
import Glibc
#endif

extension ChildPlan {
    /// Lays the plan out as a `berth_plan` in C memory owned by `memory`.
    func cPlan(in memory: CMemory, syncFD: Int32, stateDirFD: Int32, execFifoName: String?, cgroup: CgroupEntryFiles?) -> berth_plan {
        var plan = berth_plan()
        plan.mode = Int32(mode == .create ? BERTH_PLAN_CREATE.rawValue : BERTH_PLAN_EXEC.rawValue)
        let entry = cgroup ?? CgroupEntryFiles()
        plan.cgroup = berth_cgroup_entry(v2_directory: entry.v2Directory, v2_procs: entry.v2Procs,
                                         v1_tasks: memory.array(entry.v1Tasks), v1_tasks_count: entry.v1Tasks.count)
        let namespaces = self.namespaces.map { namespace in
            berth_namespace(type: namespace.type, path: memory.optionalString(namespace.path), field: memory.string(namespace.field))
        }
        plan.namespaces = memory.array(namespaces)
        plan.namespaces_count = namespaces.count
        plan.wait_for_id_maps = waitForIDMaps ? 1 : 0

        plan.rootfs = memory.string(rootfs)
        plan.rootfs_readonly = rootfsReadonly ? 1 : 0
        plan.rootfs_propagation = rootfsPropagation
        let mounts = self.mounts.map { mount in
            berth_mount(
                source: memory.string(mount.source), target: memory.string(mount.target),
                fstype: memory.optionalString(mount.fstype), flags: mount.flags,
                propagation: mount.propagation, data: memory.optionalString(mount.data),
                bind: mount.bind, target_is_file: mount.targetIsFile ? 1 : 0,
                needs_cgroup: mount.needsCgroup ? 1 : 0, field: memory.string(mount.field))
        }
        plan.mounts = memory.array(mounts)
        plan.mounts_count = mounts.count
        let devices = self.devices.map { device in
            berth_device(
                path: memory.string(device.path), mode: device.mode, major: device.major,
                minor: device.minor, uid: device.uid, gid: device.gid,
                bind_from_host: device.bindFromHost ? 1 : 0, field: memory.string(device.field))
        }
        plan.devices = memory.array(devices)
        plan.devices_count = devices.count
        let symlinks = self.symlinks.map { berth_symlink(target: memory.string($0.target), linkpath: memory.string($0.link)) }
        plan.symlinks = memory.array(symlinks)
        plan.symlinks_count = symlinks.count
        plan.masked_paths = memory.stringArray(maskedPaths)
        plan.readonly_paths = memory.stringArray(readonlyPaths)
        let sysctls = self.sysctls.map {
            berth_sysctl(key: memory.string($0.key), value: memory.string($0.value), field: memory.string($0.field))
        }
        plan.sysctls = memory.array(sysctls)
        plan.sysctls_count = sysctls.count
        plan.hostname = memory.optionalString(hostname)
        plan.domainname = memory.optionalString(domainname)

        plan.sync_fd = syncFD
        plan.state_dir_fd = stateDirFD
        plan.exec_fifo_name = memory.optionalString(execFifoName)
        plan.run_create_hooks = runCreateHooks ? 1 : 0
        let hooks = startHooks.map { hook in
            berth_hook(
                path: memory.string(hook.path), argv: memory.stringArray(hook.arguments),
                envp: memory.stringArray(hook.environment), timeout_seconds: hook.timeoutSeconds,
                field: memory.string(hook.field))
        }
        plan.start_hooks = memory.array(hooks)
        plan.start_hooks_count = hooks.count
        // Only startContainer hooks read the state GO brings.
        if !hooks.isEmpty {
            plan.state_buffer = memory.buffer(bytes: Int(BERTH_SYNC_MAX_MESSAGE))
            plan.state_buffer_size = Int(BERTH_SYNC_MAX_MESSAGE)
        }
        plan.process = process.cProcess(in: memory)
        return plan
    }
}

extension ChildPlan.Process {
    func cProcess(in memory: CMemory) -> berth_process {
        var process = berth_process()
        process.argv = memory.stringArray(arguments)
        process.envp = memory.stringArray(environment)
        process.cwd = memory.string(cwd)
        process.uid = uid
        process.gid = gid
        process.additional_gids = memory.array(additionalGids)
        process.additional_gids_count = additionalGids.count
        process.set_umask = umask == nil ? 0 : 1
        process.umask = umask ?? 0
        let rlimits = self.rlimits.map {
            berth_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard, field: memory.string($0.field))
        }
        process.rlimits = memory.array(rlimits)
        process.rlimits_count = rlimits.count
        if let capabilities {
            process.set_capabilities = 1
            process.capabilities = berth_capabilities(
                bounding: capabilities.bounding, effective: capabilities.effective,
                permitted: capabilities.permitted, inheritable: capabilities.inheritable,
                ambient: capabilities.ambient)
        }
        process.no_new_privileges = noNewPrivileges ? 1 : 0
        if let seccompFilter {
            process.seccomp_filter = memory.array(seccompFilter)
            process.seccomp_filter_len = UInt16(seccompFilter.count)
            process.seccomp_flags = seccompFlags
        }
        process.terminal = terminal ? 1 : 0
        process.console_socket = consoleSocket
        process.stdio = stdio
        process.preserve_fds = memory.array(preserveFDs)
        process.preserve_fds_count = preserveFDs.count
        return process
    }
}
