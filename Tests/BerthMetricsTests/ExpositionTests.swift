import BerthMetrics
import Testing

extension MetricsSuites {
    @Suite struct ExpositionTests {
        @Test func familiesAreGroupedWithHelpAndTypeOnce() throws {
            var exposition = Exposition()
            let a = Family("a_total", .counter, "A \\ counter\nover two lines.")
            let b = Family("b_bytes", .gauge, "B.")
            exposition.add(a, labels: Labels.render([("x", "1")]), value: .integer(1))
            exposition.add(b, labels: "", value: .real(2.5))
            exposition.add(a, labels: Labels.render([("x", "2")]), value: .integer(18_446_744_073_709_551_615))
            let clash = exposition.add(Family("a_total", .gauge, "clash"), labels: "", value: .integer(3))
            #expect(!clash, "a second type is refused")
            let text = exposition.render().text
            #expect(text == """
                # HELP a_total A \\\\ counter\\nover two lines.
                # TYPE a_total counter
                a_total{x="1"} 1
                a_total{x="2"} 18446744073709551615
                # HELP b_bytes B.
                # TYPE b_bytes gauge
                b_bytes 2.5

                """)
            try expectPromtoolAccepts(exposition.render())
        }

        @Test func hostileLabelValuesAreEscapedAndNamesSanitised() throws {
            let value = "quote\" backslash\\ newline\n 雪 {}=,"
            let names = ["app.kubernetes.io/name", "Team", "9lives", "__reserved", "camelCase", ""]
            var exposition = Exposition()
            let labels = names.enumerated().map { (Labels.sanitizeName("label_" + $0.element), value + String($0.offset)) }
            exposition.add(Family("t_info", .gauge, "Labels."), labels: Labels.render(labels), value: .integer(1))
            let text = exposition.render().text
            #expect(text.contains("label_app_kubernetes_io_name=\"quote\\\" backslash\\\\ newline\\n 雪 {}=,0\""))
            #expect(names.map { Labels.sanitizeName($0) } == ["app_kubernetes_io_name", "team", "_9lives", "_reserved", "camelcase", "_"])
            #expect(names.map { Labels.sanitizeName($0) }.allSatisfy(Labels.isValidName))
            try expectPromtoolAccepts(exposition.render())
        }

        @Test func valuesUseFormsPrometheusReads() {
            #expect(SampleValue.real(0.25).text == "0.25")
            #expect(SampleValue.real(3).text == "3")
            #expect(SampleValue.real(1e-5).text == "1e-05")
            #expect(SampleValue.real(.infinity).text == "+Inf")
            #expect(SampleValue.real(-.infinity).text == "-Inf")
            #expect(SampleValue.real(.nan).text == "NaN")
            #expect(SampleValue.integer(42).text == "42")
        }

        @Test func agentRegistryWritesCountersGaugesAndAHistogram() throws {
            let agent = AgentMetrics()
            agent.setResources(total: ["cpus": 2, "mem": 1024], used: ["cpus": 0.5], offered: ["cpus": 1.5, "mem": 512])
            agent.setTasks(byState: ["running": 3, "failed": 1])
            agent.launchStarted()
            agent.launchStarted()
            agent.launchFailed(reason: "image")
            agent.launchSucceeded(after: 0.03)
            agent.launchSucceeded(after: 7)
            agent.recovered(in: 0.2)
            agent.setTasks(byState: ["running": 2])
            var exposition = Exposition()
            agent.write(into: &exposition)
            let bytes = exposition.render()
            try expectPromtoolAccepts(bytes)
            let page = Page(bytes)
            #expect(page.value("berth_resources_capacity", "resource=\"mem\"") == 1024)
            #expect(page.value("berth_resources_used", "resource=\"cpus\"") == 0.5)
            #expect(page.value("berth_resources_offered", "resource=\"cpus\"") == 1.5)
            #expect(page.value("berth_tasks", "state=\"running\"") == 2)
            #expect(page.value("berth_tasks", "state=\"failed\"") == nil, "states are replaced, not merged")
            #expect(page.value("berth_task_launches_total") == 2)
            #expect(page.value("berth_task_launch_failures_total", "reason=\"image\"") == 1)
            #expect(page.value("berth_task_launch_duration_seconds_bucket", "le=\"0.05\"") == 1)
            #expect(page.value("berth_task_launch_duration_seconds_bucket", "le=\"10\"") == 2)
            #expect(page.value("berth_task_launch_duration_seconds_bucket", "le=\"+Inf\"") == 2)
            #expect(page.value("berth_task_launch_duration_seconds_count") == 2)
            #expect(page.value("berth_task_launch_duration_seconds_sum") == 7.03)
            #expect(page.value("berth_recovery_duration_seconds") == 0.2)
        }
    }
}
