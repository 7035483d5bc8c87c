/* SPDX-License-Identifier: MIT */
/*
 * The hardware abstraction layer as drivers see it: the only header of ours
 * that a driver includes.  A driver is a const HalDriver table: its name,
 * device class, ABI version, capability bits, the options it accepts and its
 * methods (NULL = not supported).  Built-in drivers are listed in the
 * registry; a closed vendor SDK can be wrapped in a shared object that
 * exports such a table under the name "ektp_hal_driver".
 *
 * Threading: the device manager calls every method from a worker thread of
 * that device, one call at a time, never from the main loop; a method may
 * block (a vendor SDK call, a USB transfer).  It should return soon after the
 * GCancellable it is given is cancelled.  If it does not return before the
 * operation's timeout, the manager completes the operation with a timeout
 * error, keeps the device away from new work and discards the late result.
 * Methods reach the core only through the hal_dev_* accessors below.
 */
#ifndef EKTP_HAL_H
#define EKTP_HAL_H

#include <gio/gio.h>
#include <stdint.h>

/* Raised whenever a HalDriver or its callers change incompatibly. */
#define HAL_ABI_VERSION 3

/* The symbol a driver plug-in exports: the table itself,
 *     const HalDriver ektp_hal_driver = { .abi = HAL_ABI_VERSION, … };   */
#define HAL_PLUGIN_SYMBOL "ektp_hal_driver"

typedef enum {
	HAL_CLASS_FINGERPRINT,
	HAL_CLASS_IRIS,
	HAL_CLASS_FACE,
	HAL_CLASS_SIGNATURE,
	HAL_CLASS_PRINTER,
	HAL_CLASS_ENCODER,
	HAL_N_CLASSES,
} HalClass;

/* Capability bits. */
enum {
	HAL_CAP_CAPTURE = 1 << 0,  /* produces images */
	HAL_CAP_PRINT = 1 << 1,    /* prints cards */
	HAL_CAP_ENCODE = 1 << 2,   /* writes and reads chips */
	HAL_CAP_COUNTERS = 1 << 3, /* keeps usage counters */
	HAL_CAP_FAULTS = 1 << 4,   /* accepts injected faults (simulators) */
	HAL_CAP_USB = 1 << 5,      /* a USB device: hotplug applies */
};

typedef enum {
	HAL_STATE_ABSENT,   /* not connected, or not answering */
	HAL_STATE_READY,    /* idle and usable */
	HAL_STATE_BUSY,     /* an operation is running */
	HAL_STATE_DEGRADED, /* usable, but a warning stands (supply low, quality declining) */
	HAL_STATE_FAULT,    /* not usable until someone acts (jam, cover open, hung) */
} HalState;

#define HAL_MAX_REASONS 8

/* What a status poll reports.  Reasons are static keyword strings in the
 * CUPS style ("media-empty", "cover-open", "cleaning-required"). */
typedef struct {
	HalState state;
	const char *reasons[HAL_MAX_REASONS]; /* NULL-terminated when shorter */
	char serial[64];
	char firmware[64];
	/* Counters, for devices with HAL_CAP_COUNTERS; -1 = unknown. */
	int64_t counter_total;      /* cards or captures in the device's life */
	int64_t counter_since_clean;
	int64_t supply_remaining;   /* prints left on the ribbon, for printers */
	/* Printers only; -1 = unknown. */
	int card_inside;            /* 1: a card is in the engine (after a crash, a jam …) */
	int64_t clean_threshold;    /* cards allowed between cleanings */
	int64_t cards_finished;     /* cards ejected to the output hopper in the printer's life */
} HalStatus;

typedef enum { HAL_OPT_INT, HAL_OPT_STRING, HAL_OPT_BOOL } HalOptType;

/* An option a driver accepts in its [device NAME] section. */
typedef struct {
	const char *name;
	HalOptType type;
	const char *def; /* default, as written in the config; NULL = required */
	int64_t min, max; /* HAL_OPT_INT bounds */
	const char *help;
} HalOption;

typedef struct HalDevice HalDevice;

/* ISO/IEC 19794 finger positions (0 unknown, 1 right thumb … 10 left little)
 * and eye positions (1 right, 2 left). */
typedef enum {
	HAL_POS_UNKNOWN = 0,
	HAL_POS_RIGHT_THUMB = 1,
	HAL_POS_LEFT_LITTLE = 10,
	HAL_POS_RIGHT_EYE = 1,
	HAL_POS_LEFT_EYE = 2,
} HalPosition;

/* For a face capture, POSITION names the backdrop colour the card needs (red
 * for an odd birth year, blue for an even one, orange for foreigners), for a
 * camera that controls its backdrop; others ignore it. */
enum {
	HAL_BACKDROP_ANY = 0,
	HAL_BACKDROP_RED = 1,
	HAL_BACKDROP_BLUE = 2,
	HAL_BACKDROP_ORANGE = 3,
};

/* A captured image and what the driver knows about it. */
typedef struct {
	int width, height;
	int channels;  /* 1 grey, 3 RGB */
	int ppi;       /* 0 when not meaningful */
	uint8_t *pixels; /* width*height*channels bytes, row-major; owned (g_free) */
	int position;  /* HalPosition for biometrics */
} HalImage;

/* One elementary file of a chip image (ISO 7816-4 file id, contents). */
typedef struct {
	uint16_t fid;
	const uint8_t *data;
	size_t len;
} HalChipFile;

/* What an encoder writes to the card in its station: files under the
 * application DF AID (e.g. the LDS application), all of them or none. */
typedef struct {
	const uint8_t *aid;
	size_t aid_len;
	const HalChipFile *files;
	size_t n_files;
} HalChip;

/* A card printer's canvas: CR80 at 300 dpi, landscape. */
#define HAL_CARD_W 1016
#define HAL_CARD_H 648

/* One side of a card as the core hands it to a printer: the driver makes its
 * panels (e.g. Y, M, C from RGB, K from BLACK, an overlay leaving CLEAR bare). */
typedef struct {
	const uint8_t *rgb;   /* HAL_CARD_W × HAL_CARD_H × 3, row-major, top row first */
	const uint8_t *black; /* HAL_CARD_W × HAL_CARD_H, nonzero = resin black (text); NULL = none */
	/* Where the overlay must leave the card bare (the chip module); w = 0: nowhere. */
	int clear_x, clear_y, clear_w, clear_h;
} HalCardSide;

/* Where a printer moves a card. */
typedef enum {
	HAL_CARD_FEED,   /* a blank from the input hopper to the contactless station */
	HAL_CARD_EJECT,  /* the card inside to the output hopper: the card is finished */
	HAL_CARD_REJECT, /* the card inside, if any, to the reject box (none inside: success) */
} HalCardMove;

/* A fault a simulator can be told to show; KIND names as in the docs. */
typedef struct {
	const char *kind;
	int count; /* how many operations it affects; 0 = until cleared */
} HalFault;

typedef struct {
	unsigned abi; /* HAL_ABI_VERSION the driver was built for */
	const char *name;
	const char *version;
	HalClass klass;
	unsigned caps;
	const HalOption *options; /* terminated by a NULL name; may be NULL */
	const char *const *fault_kinds; /* for HAL_CAP_FAULTS; NULL-terminated */

	/* Checks one of the driver's own options beyond its type and range (e.g. a
	 * list of names); called while the configuration is checked.  May be NULL. */
	int (*check_option)(const char *name, const char *value, GError **error);

	/* Connects to the device.  ERROR says why it is absent. */
	int (*open)(HalDevice *dev, GError **error);
	void (*close)(HalDevice *dev);
	/* Reads the device's state into OUT (pre-filled: READY, no reasons, counters -1). */
	int (*status)(HalDevice *dev, HalStatus *out, GCancellable *cancel, GError **error);
	/* Captures one image at POSITION (HalPosition) into OUT. */
	int (*capture)(HalDevice *dev, int position, HalImage *out, GCancellable *cancel,
		       GError **error);
	/* Encoders: writes CHIP to the card in the station, reads every file
	 * back and compares; fails (HAL_ERROR_DEVICE naming the file and the
	 * status word, or HAL_ERROR_ABSENT without a card) unless all of it
	 * reads back equal.  May be NULL. */
	int (*encode)(HalDevice *dev, const HalChip *chip, GCancellable *cancel, GError **error);
	/* Printers (HAL_CAP_PRINT).  One card is in the engine at a time; the
	 * core journals each step before calling it.  A refusal is
	 * HAL_ERROR_DEVICE whose message starts with the CUPS-style reason
	 * ("media-jam: …", "marker-supply-empty: …", "media-empty: …",
	 * "cover-open: …", "cleaning-required: …", "output-area-full: …"). */
	int (*card_move)(HalDevice *dev, HalCardMove move, GCancellable *cancel, GError **error);
	/* Prints FRONT on the card inside and leaves it there (eject follows). */
	int (*card_print)(HalDevice *dev, const HalCardSide *front, GCancellable *cancel,
			  GError **error);
	/* Runs the cleaning cycle (a cleaning card in the feeder); resets cards-since-cleaning. */
	int (*clean)(HalDevice *dev, GCancellable *cancel, GError **error);
	/* Makes the device show FAULT (simulators); KIND "clear" clears them. */
	int (*inject_fault)(HalDevice *dev, const HalFault *fault, GError **error);
} HalDriver;

#define HAL_ERROR (hal_error_quark())
GQuark hal_error_quark(void);

typedef enum {
	HAL_ERROR_FAILED,
	HAL_ERROR_ABSENT,      /* the device is not there */
	HAL_ERROR_TIMEOUT,     /* no answer in time */
	HAL_ERROR_CANCELLED,
	HAL_ERROR_BUSY,        /* another operation holds the device */
	HAL_ERROR_UNSUPPORTED, /* the driver has no such method */
	HAL_ERROR_DEVICE,      /* the device refused: jam, cover open, chip failure … */
	HAL_ERROR_CONFIG,      /* a bad driver, option or fault name */
	HAL_ERROR_NO_DEVICE,   /* no device of that name is configured */
	HAL_ERROR_RETRY,       /* take the capture again: finger too short, off centre, no ridges */
} HalErrorCode;

/* ---- accessors for drivers ---- */

const char *hal_dev_name(const HalDevice *dev);
/* The value of an option (the default when not given).  Borrowed. */
const char *hal_dev_option(const HalDevice *dev, const char *name);
int64_t hal_dev_option_int(const HalDevice *dev, const char *name);
gboolean hal_dev_option_bool(const HalDevice *dev, const char *name);
/* The driver's own state for this device; the driver frees it in close(). */
void *hal_dev_get_private(const HalDevice *dev);
void hal_dev_set_private(HalDevice *dev, void *priv);

#endif
