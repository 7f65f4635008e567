import Testing
@testable import BerthOCI

@Suite struct ASCIITests {
    @Test("digits are 0-9 only, one or more; other scripts' digits are not")
    func digits() {
        #expect(ASCII.isDigits("0123456789"))
        #expect(!ASCII.isDigits(""))
        #expect(!ASCII.isDigits("12a"))
        #expect(!ASCII.isDigits("-1"))
        #expect(!ASCII.isDigits("١٢"))  // Arabic-Indic digits: Character.isNumber, not ASCII
    }

    @Test("replacing an ASCII character replaces every one, and leaves other text as it is")
    func replacing() {
        #expect(ASCII.replacing("\n", with: " ", in: "a\nb\n") == "a b ")
        #expect(ASCII.replacing("\\", with: "\\\\", in: #"C:\x\"#) == #"C:\\x\\"#)
        #expect(ASCII.replacing("/", with: ".", in: "net/ipv4/ip_forward") == "net.ipv4.ip_forward")
        #expect(ASCII.replacing("x", with: "y", in: "żółw") == "żółw")
        #expect(ASCII.replacing("é", with: "e", in: "é") == "é")  // not ASCII: nothing to do
    }
}
