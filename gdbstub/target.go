package gdbstub

import (
	"fmt"
	"strings"
)

// targetXML is the description served through qXfer:features:read,
// generated from regTable so the two always agree. gdb's i386 back end
// insists on every register of org.gnu.gdb.i386.core, the x87 ones included
// (i386_validate_tdesc_p), and on xmm0-7 plus mxcsr when the SSE feature is
// present; it accepts further features as plain named registers, which is
// how $cr3 and $linear_pages reach `p`, `display` and Python.
var targetXML = buildTargetXML()

// typeDefs are the types the registers name, per feature.
var typeDefs = map[string]string{
	featCore: `    <flags id="i386_eflags" size="4">
      <field name="" start="22" end="31"/>
      <field name="CF" start="0" end="0"/>
      <field name="" start="1" end="1"/>
      <field name="PF" start="2" end="2"/>
      <field name="AF" start="4" end="4"/>
      <field name="ZF" start="6" end="6"/>
      <field name="SF" start="7" end="7"/>
      <field name="TF" start="8" end="8"/>
      <field name="IF" start="9" end="9"/>
      <field name="DF" start="10" end="10"/>
      <field name="OF" start="11" end="11"/>
      <field name="NT" start="14" end="14"/>
      <field name="RF" start="16" end="16"/>
      <field name="VM" start="17" end="17"/>
      <field name="AC" start="18" end="18"/>
      <field name="VIF" start="19" end="19"/>
      <field name="VIP" start="20" end="20"/>
      <field name="ID" start="21" end="21"/>
    </flags>
`,
	featSSE: `    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v16i8" type="int8" count="16"/>
    <vector id="v8i16" type="int16" count="8"/>
    <vector id="v4i32" type="int32" count="4"/>
    <vector id="v2i64" type="int64" count="2"/>
    <union id="vec128">
      <field name="v4_float" type="v4f"/>
      <field name="v2_double" type="v2d"/>
      <field name="v16_int8" type="v16i8"/>
      <field name="v8_int16" type="v8i16"/>
      <field name="v4_int32" type="v4i32"/>
      <field name="v2_int64" type="v2i64"/>
      <field name="uint128" type="uint128"/>
    </union>
    <flags id="i386_mxcsr" size="4">
      <field name="IE" start="0" end="0"/>
      <field name="DE" start="1" end="1"/>
      <field name="ZE" start="2" end="2"/>
      <field name="OE" start="3" end="3"/>
      <field name="UE" start="4" end="4"/>
      <field name="PE" start="5" end="5"/>
      <field name="DAZ" start="6" end="6"/>
      <field name="IM" start="7" end="7"/>
      <field name="DM" start="8" end="8"/>
      <field name="ZM" start="9" end="9"/>
      <field name="OM" start="10" end="10"/>
      <field name="UM" start="11" end="11"/>
      <field name="PM" start="12" end="12"/>
      <field name="FZ" start="15" end="15"/>
    </flags>
`,
	featCR: `    <flags id="i386_cr0" size="4">
      <field name="PE" start="0" end="0"/>
      <field name="MP" start="1" end="1"/>
      <field name="EM" start="2" end="2"/>
      <field name="TS" start="3" end="3"/>
      <field name="ET" start="4" end="4"/>
      <field name="NE" start="5" end="5"/>
      <field name="WP" start="16" end="16"/>
      <field name="AM" start="18" end="18"/>
      <field name="NW" start="29" end="29"/>
      <field name="CD" start="30" end="30"/>
      <field name="PG" start="31" end="31"/>
    </flags>
    <flags id="i386_cr4" size="4">
      <field name="VME" start="0" end="0"/>
      <field name="PVI" start="1" end="1"/>
      <field name="TSD" start="2" end="2"/>
      <field name="DE" start="3" end="3"/>
      <field name="PSE" start="4" end="4"/>
      <field name="PAE" start="5" end="5"/>
      <field name="MCE" start="6" end="6"/>
      <field name="PGE" start="7" end="7"/>
      <field name="PCE" start="8" end="8"/>
      <field name="OSFXSR" start="9" end="9"/>
      <field name="OSXMMEXCPT" start="10" end="10"/>
    </flags>
`,
}

func buildTargetXML() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>i386</architecture>
`)
	feature := ""
	for n, d := range regTable {
		if d.feature != feature {
			if feature != "" {
				b.WriteString("  </feature>\n")
			}
			feature = d.feature
			fmt.Fprintf(&b, "  <feature name=%q>\n", feature)
			b.WriteString(typeDefs[feature])
		}
		fmt.Fprintf(&b, "    <reg name=%q bitsize=\"%d\" type=%q regnum=\"%d\"", d.name, d.bits, d.typ, n)
		if d.group != "" {
			fmt.Fprintf(&b, " group=%q", d.group)
		}
		b.WriteString("/>\n")
	}
	b.WriteString("  </feature>\n</target>\n")
	return b.String()
}
