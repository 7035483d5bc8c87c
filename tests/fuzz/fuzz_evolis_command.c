/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the printer emulator's command parser (drivers/evolis/protocol.c,
 * the EvoParser that tests/emu/evoemu reads the driver's bytes with): the
 * input's first byte sets the size of the chunks the bytes arrive in, the
 * rest is the stream.  Every command taken out must have a name; a Db or Dbc
 * one is decoded into a panel.  Each command written back with
 * evo_command_put() and parsed again must come out the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/evolis/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_again(const EvoCommand *cmd)
{
	if (cmd->bad || cmd->no_cr)
		return; /* not a command the driver could have meant; nothing to compare */
	g_autoptr(GByteArray) bytes = g_byte_array_new();
	evo_command_put(bytes, cmd);
	g_autoptr(EvoParser) p = evo_parser_new();
	evo_parser_feed(p, bytes->data, bytes->len);
	g_autoptr(EvoCommand) again = evo_parser_next(p);
	if (!again || strcmp(again->text, cmd->text) != 0 || again->argc != cmd->argc ||
	    again->len != cmd->len || (cmd->len && memcmp(again->data, cmd->data, cmd->len) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	data++;
	size--;
	g_autoptr(EvoParser) p = evo_parser_new();
	for (size_t off = 0; off < size; off += chunk) {
		evo_parser_feed(p, data + off, MIN(chunk, size - off));
		EvoCommand *cmd;
		while ((cmd = evo_parser_next(p))) {
			if (!cmd->text || !cmd->argv || cmd->argc < 1 || !cmd->argv[0])
				abort();
			if (g_str_has_prefix(cmd->text, "Db")) {
				EvoPanel panel = { 0 };
				GError *e = NULL;
				if (evo_panel_decode(cmd, &panel, &e) == 0) {
					if (!panel.dots)
						abort();
					evo_panel_clear(&panel);
				} else {
					g_clear_error(&e);
				}
			}
			same_again(cmd);
			evo_command_free(cmd);
		}
	}
	evo_parser_reset(p);
	if (evo_parser_partial(p))
		abort();
	return 0;
}
