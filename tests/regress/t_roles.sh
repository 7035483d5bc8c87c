#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The role matrix: every role (and no token) against every route.  The
# expected matrix is written out here, independently of the daemon's route
# table; a route the daemon has but this matrix lacks fails the test.
. "$(dirname "$0")/lib.sh"
setup
start_daemon

PIN=246810
add_user admin admin $PIN || not_ok "bootstrap admin"
ADMIN=$(login admin $PIN)
for r in operator supervisor technician; do
	add_user "$r" "$r" $PIN "$ADMIN" || not_ok "add $r"
done
add_user victim operator $PIN "$ADMIN"

# METHOD PATH ROLES-ALLOWED (public = no token needed; self = one's own {name})
MATRIX="GET /v1/status public
POST /v1/login public
POST /v1/logout operator,supervisor,technician,admin
GET /v1/whoami operator,supervisor,technician,admin
GET /v1/users admin
POST /v1/users admin
POST /v1/users/{name}/disable admin
POST /v1/users/{name}/pin admin,self
GET /v1/audit supervisor,admin
GET /v1/audit/verify supervisor,admin
GET /v1/devices operator,supervisor,technician,admin
GET /v1/devices/{name} operator,supervisor,technician,admin
POST /v1/devices/{name}/fault technician
POST /v1/devices/{name}/selftest technician
GET /v1/devices/{name}/selftests technician,supervisor
POST /v1/devices/{name}/clean technician
POST /v1/enrollments operator,supervisor
GET /v1/enrollments operator,supervisor
GET /v1/enrollments/{name} operator,supervisor
POST /v1/enrollments/{name}/capture/finger operator,supervisor
PUT /v1/enrollments/{name}/capture/finger operator,supervisor
POST /v1/enrollments/{name}/capture/iris operator,supervisor
PUT /v1/enrollments/{name}/capture/iris operator,supervisor
POST /v1/enrollments/{name}/capture/face operator,supervisor
PUT /v1/enrollments/{name}/capture/face operator,supervisor
POST /v1/enrollments/{name}/capture/signature operator,supervisor
PUT /v1/enrollments/{name}/capture/signature operator,supervisor
POST /v1/enrollments/{name}/exceptions operator,supervisor
POST /v1/enrollments/{name}/commit operator,supervisor
POST /v1/enrollments/{name}/abandon operator,supervisor
GET /v1/records operator,supervisor
GET /v1/records/{name} operator,supervisor
GET /v1/records/{name}/export supervisor
POST /v1/records/{name}/approve supervisor
POST /v1/records/{name}/reject supervisor
POST /v1/records/{name}/hold supervisor
GET /v1/reports/coverage supervisor,admin
GET /v1/reports/{name} supervisor
GET /v1/records/{name}/card operator,supervisor
GET /v1/records/{name}/chip supervisor
POST /v1/records/{name}/encode operator,supervisor
POST /v1/cards/verify operator,supervisor,technician
POST /v1/records/{name}/reprint supervisor
POST /v1/print/batches operator,supervisor
GET /v1/print/batches/{name} operator,supervisor,technician
POST /v1/print/batches/{name}/cancel operator,supervisor
GET /v1/print/jobs operator,supervisor,technician
GET /v1/stock operator,supervisor,technician
GET /v1/stock/forecast operator,supervisor,technician
GET /v1/stock/items operator,supervisor,technician
POST /v1/stock/receive supervisor
POST /v1/stock/load supervisor
POST /v1/stock/adjust supervisor
POST /v1/stock/spoil supervisor
GET /v1/stock/history operator,supervisor,technician
GET /v1/stock/alerts operator,supervisor,technician
POST /v1/stock/rations supervisor
GET /v1/stock/chart supervisor,technician"

# Every route in the daemon appears in the matrix above, and vice versa.
daemon_routes=$("$EKTPD" --routes | awk '{print $1, $2}' | sort)
test_routes=$(printf '%s\n' "$MATRIX" | awk '{print $1, $2}' | sort)
is "the daemon's routes are exactly the matrix's" "$daemon_routes" "$test_routes"

n=0
# body_for PATH ROLE: a valid request body, so a refusal can only be the role's.
body_for() {
	n=$((n + 1))
	case "$1" in
	/v1/login) echo "{\"user\":\"victim\",\"pin\":\"$PIN\"}" ;;
	/v1/users) echo "{\"name\":\"new$n\",\"role\":\"operator\",\"pin\":\"$PIN\"}" ;;
	*/fault) echo '{"kind":"jam"}' ;;
	*/encode) echo '{"encoder":"encoder"}' ;;
	*/stock/receive) echo '{"item":"blank-card","qty":1}' ;;
	*/pin) [ "$3" = self ] && echo "{\"pin\":\"$PIN\",\"old_pin\":\"$PIN\"}" || echo "{\"pin\":\"$PIN\"}" ;;
	*) echo "" ;;
	esac
}

while read -r method path allowed; do
	for role in none operator supervisor technician admin; do
		token=""
		[ "$role" != none ] && token=$(login "$role" $PIN)
		for target in other self; do
			[[ "$path" == *"{name}"* ]] || [ "$target" = other ] || continue
			name=victim
			[ "$target" = self ] && name=$role
			[ "$role" = none ] && [ "$target" = self ] && continue
			p=${path/\{name\}/$name}
			if [[ "$p" == */disable ]] && [ "$target" = other ]; then
				p=/v1/users/no-such-user/disable # allowed → 404, never disables anyone
			fi
			before=$(audit_rows)
			api "$method" "$p" "$(body_for "$path" "$role" "$target")" "$token"
			got=$STATUS
			after=$(audit_rows)
			if [[ ",$allowed," == *",public,"* || ",$allowed," == *",$role,"* ]] ||
				{ [ "$target" = self ] && [[ ",$allowed," == *",self,"* ]]; }; then
				if [ "$got" = 401 ] || [ "$got" = 403 ] || [ "${got:0:1}" = 5 ]; then
					not_ok "$role may $method $p (got $got: $BODY)"
				else
					ok "$role may $method $p ($got)"
				fi
				# A state change that succeeded left exactly one audit row.
				# (/v1/cards/verify is a POST that only checks what it is sent.)
				if [ "$method" = POST ] && [ "${got:0:1}" = 2 ] && [ "$path" != /v1/cards/verify ]; then
					is "$role $method $p wrote one audit row" $((after - before)) 1
				fi
			else
				want=403
				[ "$role" = none ] && want=401
				is "$role may not $method $p" "$got" "$want"
				is "$role refused $method $p wrote nothing" "$after" "$before"
			fi
		done
	done
done <<<"$MATRIX"

# The first admin exists now: root without a token is refused.
api POST /v1/users "{\"name\":\"late\",\"role\":\"admin\",\"pin\":\"$PIN\"}"
is "root cannot create an admin without a token once one exists" "$STATUS" 401
done_testing
