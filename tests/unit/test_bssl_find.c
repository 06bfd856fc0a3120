/* test_bssl_find.c: the BoringSSL signature search on synthetic images (ssl_lib.cc-shaped
 * functions, .eh_frame_hdr), its identifications, function bounds and refusals. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bssl_find.h"
#include "unit.h"

static struct ap_cs_decoder dec;

static int load_capstone(void)
{
	void *h = dlopen("libcapstone.so.4", RTLD_LOCAL | RTLD_NOW);

	if (!h)
		return -1;
	*(void **)&dec.api.cs_open = dlsym(h, "cs_open");
	*(void **)&dec.api.cs_option = dlsym(h, "cs_option");
	*(void **)&dec.api.cs_malloc = dlsym(h, "cs_malloc");
	*(void **)&dec.api.cs_disasm_iter = dlsym(h, "cs_disasm_iter");
	*(void **)&dec.api.cs_free = dlsym(h, "cs_free");
	*(void **)&dec.api.cs_close = dlsym(h, "cs_close");
	return ap_cs_decoder_open(&dec);
}

/* --- a tiny assembler for the shapes the search reads ----------------------------------------- */

#define RO_ADDR	  0x400000u
#define TEXT_ADDR 0x500000u
#define EH_ADDR	  0x600000u

static uint8_t ro[4096], text[8192], eh[8192];
static size_t tpos, nfn;
static uint64_t fn_start[32], fn_size[32];
static uint32_t file_str; /* address of ".../ssl/ssl_lib.cc" */

static void b(uint8_t v)
{
	text[tpos++] = v;
}

static void d32(uint32_t v)
{
	memcpy(text + tpos, &v, 4);
	tpos += 4;
}

static uint64_t here(void)
{
	return TEXT_ADDR + tpos;
}

static void mov_imm(int reg, uint32_t v) /* mov r32, imm32 (eax..edi) */
{
	b((uint8_t)(0xb8 + reg));
	d32(v);
}

static void call(uint64_t to)
{
	b(0xe8);
	d32((uint32_t)(to - (here() + 4)));
}

static void jmp32(uint64_t to)
{
	b(0xe9);
	d32((uint32_t)(to - (here() + 4)));
}

enum { AX = 0, CX = 1, DX = 2, SI = 6, DI = 7 };

static uint64_t put_error;

/* OPENSSL_PUT_ERROR(SSL, reason) in Bun's shape: (lib, reason, file, line) */
static void report(uint32_t reason)
{
	mov_imm(DX, file_str);
	mov_imm(DI, 16);
	mov_imm(SI, reason);
	mov_imm(CX, 100 + reason);
	call(put_error);
}

static uint64_t begin(void)
{
	while (tpos & 15)
		b(0xcc);
	fn_start[nfn] = here();
	return here();
}

static void end(void)
{
	b(0xc3); /* ret */
	fn_size[nfn] = here() - fn_start[nfn];
	nfn++;
}

/* .eh_frame with one CIE ("zR", pcrel|sdata4) and one FDE per function; .eh_frame_hdr after. */
static uint64_t build_eh(void)
{
	size_t p = 0, hdr, fde_at[32];
	static const uint8_t cie[] = {0x14, 0,	  0,	0, 0,	 0,    0, 0, 1,	   'z', 'R', 0,
				      1,    0x78, 0x10, 1, 0x1b, 0x0c, 7, 8, 0x90, 1,	0,   0};

	memset(eh, 0, sizeof(eh));
	memcpy(eh, cie, sizeof(cie));
	p = sizeof(cie);
	for (size_t i = 0; i < nfn; i++) {
		uint32_t len = 16, cie_ptr = (uint32_t)(p + 4), begin_rel,
			 range = (uint32_t)fn_size[i];
		fde_at[i] = p;
		memcpy(eh + p, &len, 4);
		memcpy(eh + p + 4, &cie_ptr, 4);
		begin_rel = (uint32_t)(fn_start[i] - (EH_ADDR + p + 8));
		memcpy(eh + p + 8, &begin_rel, 4);
		memcpy(eh + p + 12, &range, 4);
		p += 20;
	}
	p += 4; /* terminator */
	hdr = (p + 15) & ~(size_t)15;
	eh[hdr] = 1;
	eh[hdr + 1] = 0x1b;
	eh[hdr + 2] = 0x03;
	eh[hdr + 3] = 0x3b;
	{
		uint32_t ptr = (uint32_t)(0 - (hdr + 4)), cnt = (uint32_t)nfn;
		memcpy(eh + hdr + 4, &ptr, 4);
		memcpy(eh + hdr + 8, &cnt, 4);
	}
	for (size_t i = 0; i < nfn; i++) { /* functions are emitted in address order */
		int32_t loc = (int32_t)(fn_start[i] - (EH_ADDR + hdr)),
			fde = (int32_t)(fde_at[i] - hdr);
		memcpy(eh + hdr + 12 + i * 8, &loc, 4);
		memcpy(eh + hdr + 16 + i * 8, &fde, 4);
	}
	return EH_ADDR + hdr;
}

struct shape {
	int second_handshake; /* another function reporting only CONNECTION_TYPE_NOT_SET */
	int write_skips_hs;   /* SSL_write does not call SSL_do_handshake */
	int no_shutdown;      /* no SSL_shutdown calling ssl_read_impl */
	int separate_read;    /* SSL_peek standalone, SSL_read a small caller near it */
	int shared_tail;      /* SSL_write's reports share one call (Bun's code) */
	int no_string;
};

static uint64_t H, W, I, R, SR;

static void build(const struct shape *sh, struct ap_img *img)
{
	static const char path[] = "../../vendor/boringssl/ssl/ssl_lib.cc";

	memset(ro, 0, sizeof(ro));
	memset(text, 0xcc, sizeof(text));
	tpos = nfn = 0;
	memcpy(ro + 64, "unrelated\0", 10);
	if (!sh->no_string)
		memcpy(ro + 100, path, sizeof(path));
	file_str = RO_ADDR + 100;

	put_error = begin();
	end();

	H = begin(); /* SSL_do_handshake */
	b(0x55);     /* push rbp */
	report(AP_BSSL_R_CONNECTION_TYPE_NOT_SET);
	b(0x5d);
	end();

	if (sh->second_handshake) {
		begin();
		report(AP_BSSL_R_CONNECTION_TYPE_NOT_SET);
		end();
	}

	W = begin(); /* SSL_write */
	b(0x55);
	report(AP_BSSL_R_SHOULD_NOT_HAVE_BEEN_CALLED);
	if (!sh->write_skips_hs)
		call(H);
	if (sh->shared_tail) {
		uint64_t tail = here() + 20 + 5 + 20 + 5 + 20; /* the call below */
		/* two reports loading their arguments and jumping to one call */
		mov_imm(DX, file_str), mov_imm(DI, 16), mov_imm(SI, AP_BSSL_R_UNINITIALIZED),
			mov_imm(CX, 1);
		jmp32(tail);
		mov_imm(DX, file_str), mov_imm(DI, 16), mov_imm(SI, AP_BSSL_R_BAD_LENGTH),
			mov_imm(CX, 2);
		jmp32(tail);
		mov_imm(DX, file_str), mov_imm(DI, 16),
			mov_imm(SI, AP_BSSL_R_SSL_HANDSHAKE_FAILURE), mov_imm(CX, 3);
		call(put_error); /* the shared call: tail */
	} else {
		report(AP_BSSL_R_UNINITIALIZED);
		report(AP_BSSL_R_SSL_HANDSHAKE_FAILURE);
		report(AP_BSSL_R_BAD_LENGTH);
	}
	b(0x5d);
	end();

	I = begin(); /* ssl_read_impl */
	report(AP_BSSL_R_UNINITIALIZED);
	call(H);
	report(AP_BSSL_R_SSL_HANDSHAKE_FAILURE);
	end();

	R = begin(); /* SSL_read (SSL_peek inlined), or SSL_peek */
	b(0x55);
	report(AP_BSSL_R_SHOULD_NOT_HAVE_BEEN_CALLED);
	call(I);
	b(0x5d);
	end();

	SR = 0;
	if (sh->separate_read) {
		SR = begin(); /* SSL_read: SSL_peek, then consume */
		b(0x55);
		call(R);
		b(0x5d);
		end();
	}

	if (!sh->no_shutdown) {
		begin(); /* SSL_shutdown */
		report(AP_BSSL_R_UNINITIALIZED);
		call(I);
		report(AP_BSSL_R_APPLICATION_DATA_ON_SHUTDOWN);
		end();
	}

	memset(img, 0, sizeof(*img));
	img->seg[0] = (struct ap_img_seg){ro, RO_ADDR, sizeof(ro), 0};
	img->seg[1] = (struct ap_img_seg){text, TEXT_ADDR, sizeof(text), 1};
	img->seg[2] = (struct ap_img_seg){eh, EH_ADDR, sizeof(eh), 0};
	img->nseg = 3;
	img->eh_frame_hdr = build_eh();
}

static size_t released;

static void count_release(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	(void)p;
	released += len;
}

static void test_found(void)
{
	struct shape sh = {0};
	struct ap_img img;
	struct ap_bssl_found f;

	build(&sh, &img);
	released = 0;
	img.release = count_release;
	CHECK_EQ_INT(ap_bssl_find(&img, ap_cs_decode, &dec, &f), 0);
	CHECK_EQ_INT(f.entry[AP_BSSL_HANDSHAKE], H);
	CHECK_EQ_INT(f.entry[AP_BSSL_WRITE], W);
	CHECK_EQ_INT(f.entry[AP_BSSL_READ], R);
	CHECK_EQ_INT(f.entry[AP_BSSL_PEEK], 0);
	CHECK(f.size[AP_BSSL_WRITE] > 20);
	CHECK(released >= sizeof(ro) + sizeof(text)); /* every scanned byte handed back */
}

static void test_shared_tail(void)
{
	struct shape sh = {.shared_tail = 1};
	struct ap_img img;
	struct ap_bssl_found f;

	build(&sh, &img);
	CHECK_EQ_INT(ap_bssl_find(&img, ap_cs_decode, &dec, &f), 0);
	CHECK_EQ_INT(f.entry[AP_BSSL_WRITE], W);
}

static void test_separate_read(void)
{
	struct shape sh = {.separate_read = 1};
	struct ap_img img;
	struct ap_bssl_found f;

	build(&sh, &img);
	CHECK_EQ_INT(ap_bssl_find(&img, ap_cs_decode, &dec, &f), 0);
	CHECK_EQ_INT(f.entry[AP_BSSL_READ], SR);
	CHECK_EQ_INT(f.entry[AP_BSSL_PEEK], R);
}

static void refused(const struct shape *sh, const char *why)
{
	struct ap_img img;
	struct ap_bssl_found f;

	build(sh, &img);
	CHECK_EQ_INT(ap_bssl_find(&img, ap_cs_decode, &dec, &f), -1);
	if (!strstr(f.why, why)) {
		printf("  refusal %s: got \"%s\"\n", why, f.why);
		CHECK(0);
	} else {
		CHECK(1);
	}
}

static void test_refusals(void)
{
	struct shape sh;

	sh = (struct shape){.no_string = 1};
	refused(&sh, "no BoringSSL ssl/ssl_lib.cc error string");
	sh = (struct shape){.second_handshake = 1};
	refused(&sh, "SSL_do_handshake not identified (2 candidates)");
	sh = (struct shape){.write_skips_hs = 1};
	refused(&sh, "SSL_write not identified (0 candidates)");
	sh = (struct shape){.no_shutdown = 1};
	refused(&sh, "ssl_read_impl not confirmed by SSL_shutdown");
	{
		struct ap_img img;
		struct ap_bssl_found f;

		sh = (struct shape){0};
		build(&sh, &img);
		img.eh_frame_hdr = 0;
		CHECK_EQ_INT(ap_bssl_find(&img, ap_cs_decode, &dec, &f), -1);
		CHECK(strstr(f.why, "eh_frame_hdr") != NULL);
	}
}

static void test_verify(void)
{
	struct shape sh = {0};
	struct ap_img img;
	struct ap_bssl_found f, v;
	uint64_t forged[5];

	build(&sh, &img);
	CHECK_EQ_INT(ap_bssl_find(&img, ap_cs_decode, &dec, &f), 0);
	CHECK_EQ_INT(f.nfuncs, 5);
	CHECK_EQ_INT(ap_bssl_verify(&img, ap_cs_decode, &dec, f.str, f.funcs, f.nfuncs, &v), 0);
	CHECK(!memcmp(v.entry, f.entry, sizeof(f.entry)));
	/* a forged hint: SSL_write and SSL_do_handshake swapped */
	memcpy(forged, f.funcs, sizeof(forged));
	forged[0] = f.funcs[1];
	forged[1] = f.funcs[0];
	CHECK_EQ_INT(ap_bssl_verify(&img, ap_cs_decode, &dec, f.str, forged, 5, &v), 0);
	CHECK(!memcmp(v.entry, f.entry, sizeof(f.entry))); /* identified by what they are */
	forged[1] = f.funcs[0] + 1;			   /* not a function start */
	CHECK_EQ_INT(ap_bssl_verify(&img, ap_cs_decode, &dec, f.str, forged, 5, &v), -1);
	memcpy(forged, f.funcs, sizeof(forged));
	forged[1] = put_error; /* SSL_write left out: another function instead */
	CHECK_EQ_INT(ap_bssl_verify(&img, ap_cs_decode, &dec, f.str, forged, 5, &v), -1);
	if (!strstr(v.why, "SSL_write not identified"))
		printf("  why: %s\n", v.why);
	CHECK(strstr(v.why, "SSL_write not identified") != NULL);
	CHECK_EQ_INT(ap_bssl_verify(&img, ap_cs_decode, &dec, f.str + 1, f.funcs, 5, &v), -1);
	CHECK_EQ_INT(ap_bssl_verify(&img, ap_cs_decode, &dec, RO_ADDR + 64, f.funcs, 5, &v), -1);
}

static void test_func_bounds(void)
{
	struct shape sh = {0};
	struct ap_img img;
	uint64_t s, n;

	build(&sh, &img);
	CHECK_EQ_INT(ap_img_func_at(&img, W + 3, &s, &n), 0);
	CHECK_EQ_INT(s, W);
	CHECK_EQ_INT(n, fn_size[2]);
	CHECK_EQ_INT(ap_img_func_at(&img, TEXT_ADDR + tpos + 64, &s, &n),
		     -1);				       /* past the last one */
	CHECK_EQ_INT(ap_img_func_at(&img, W - 1, &s, &n), -1); /* padding between */
}

int main(void)
{
	if (load_capstone()) {
		printf("skip: libcapstone.so.4 not available\n");
		UNIT_DONE();
		return 0;
	}
	test_found();
	test_shared_tail();
	test_separate_read();
	test_refusals();
	test_func_bounds();
	test_verify();
	UNIT_DONE();
}
